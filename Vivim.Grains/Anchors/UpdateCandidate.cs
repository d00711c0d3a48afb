using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;

namespace Vivim.Anchors;

/// <summary>
/// One submitted update after the checks that need no anchor state: size, JSON, shape, path, timestamps and both
/// signatures by the claimed author. Runs off the grain's turn, in parallel, before the anchor orders anything.
/// </summary>
internal sealed class UpdateCandidate
{
    private UpdateCandidate(int index, JsonObject? json, StateUpdate? update, string? hash, byte[]? key, byte[]? value, int documentBytes, UpdateRejection? rejection)
    {
        DocumentBytes = documentBytes;
        Index = index;
        Json = json;
        Update = update;
        UpdateHash = hash;
        DocumentKey = key;
        DocumentValue = value;
        Rejection = rejection;
    }

    /// <summary>An anchor has its parent and its clones as authors; past this many, DIDs are simply parsed each time.</summary>
    public const int MaxCachedAuthors = 4096;

    public int Index { get; }

    /// <summary>The update as received (unknown members would have been refused by the shape check).</summary>
    public JsonObject? Json { get; }

    public StateUpdate? Update { get; }

    /// <summary>SHA-256 of the v2 signing bytes, which the commit lists.</summary>
    public string? UpdateHash { get; }

    /// <summary>The document's tree key, <c>SHA-256(path)</c>: hashed here, in parallel, rather than at each use under the anchor's lock.</summary>
    public byte[]? DocumentKey { get; }

    /// <summary>The document's tree value (null for deletes).</summary>
    public byte[]? DocumentValue { get; }

    /// <summary>The document's stored size (UTF-8 bytes of its JSON; 0 for deletes), for the bytes-of-state quota.</summary>
    public int DocumentBytes { get; }

    public UpdateRejection? Rejection { get; }

    /// <summary>Validates one update's text against everything but the anchor's current state and writer registry.</summary>
    /// <param name="authors">Parsed author DIDs seen before (the parent and its clones), so base58 is decoded once per author, not per update.</param>
    public static UpdateCandidate Check(int index, string text, AnchorOptions options, DateTimeOffset now, System.Collections.Concurrent.ConcurrentDictionary<string, DidKey> authors)
    {
        UpdateCandidate Reject(string code, string reason, string? updateId = null) =>
            new(index, null, null, null, null, null, 0, new UpdateRejection(index, updateId, code, reason));

        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > options.MaxUpdateBytes)
        {
            return Reject(RejectionCodes.TooLarge, $"The update is {bytes.Length} bytes; the limit is {options.MaxUpdateBytes}.");
        }

        JsonObject json;
        StateUpdate update;
        try
        {
            json = ProtocolJson.ParseObject(bytes, new JsonLimits(options.MaxUpdateBytes, JsonLimits.Default.MaxDepth));
        }
        catch (JsonFormatException e)
        {
            return Reject(RejectionCodes.InvalidJson, e.Message);
        }

        try
        {
            update = StateUpdateReader.Read(json);
        }
        catch (ProtocolModelException e)
        {
            return Reject(RejectionCodes.InvalidShape, e.Message, (json["updateId"] as JsonValue)?.ToString());
        }

        if (string.IsNullOrWhiteSpace(update.UpdateId) || update.UpdateId.Length > 128)
        {
            return Reject(RejectionCodes.InvalidShape, "updateId must be 1 to 128 characters.", update.UpdateId);
        }

        if (StateRules.PathProblem(update.Path, update.Type) is { } pathProblem)
        {
            return Reject(RejectionCodes.InvalidPath, pathProblem, update.UpdateId);
        }

        if (update.Path is "identity/did" or "identity/publicKey")
        {
            return Reject(RejectionCodes.InvalidPath, "identity/did and identity/publicKey are fixed by the DID itself.", update.UpdateId);
        }

        var timestamp = update.Timestamp;
        if (timestamp > (now + options.MaxClockSkew).ToUnixTimeMilliseconds())
        {
            return Reject(RejectionCodes.TimestampInFuture, $"The timestamp is more than {options.MaxClockSkew.TotalMinutes:0} minutes in the future.", update.UpdateId);
        }

        if (timestamp < (now - options.Retention).ToUnixTimeMilliseconds())
        {
            return Reject(RejectionCodes.TimestampExpired, "The timestamp is older than the log's retention, so a replay could not be told apart.", update.UpdateId);
        }

        byte[]? value = null;
        var documentBytes = 0;
        if (update.Operation != UpdateOperation.Delete)
        {
            documentBytes = StateRules.DocumentBytes(update.Data);
            if (documentBytes > options.MaxDocumentBytes)
            {
                return Reject(RejectionCodes.TooLarge, $"The document is {documentBytes} bytes; the limit is {options.MaxDocumentBytes}.", update.UpdateId);
            }

            if (json["data"] is null)
            {
                return Reject(RejectionCodes.InvalidShape, "create and update need a document in data.", update.UpdateId);
            }
        }

        if (!authors.TryGetValue(update.SourceDid, out var author))
        {
            if (!DidKey.TryParse(update.SourceDid, out author))
            {
                return Reject(RejectionCodes.InvalidShape, "sourceDid is not a did:key.", update.UpdateId);
            }

            if (authors.Count < MaxCachedAuthors)
            {
                authors.TryAdd(update.SourceDid, author);
            }
        }

        byte[] signingBytes;
        try
        {
            // v2 covers everything v1 covers and more, so it is the one verified. The author's v1 signature (for SDK
            // 1.x readers) is checked for form only: verifying it as well would halve ingest, and a wrong one can
            // only make its own author's updates unreadable to SDK 1.x clients.
            SignatureV1.ReadSignature(json);
            var signature = SignatureV2.ReadProofSignature(json);

            // The signed form holds data's canonical form as a slice: its hash is the document's tree value.
            signingBytes = SignatureV2.SigningBytes(SignedKind.StateUpdate, json, "data", out var dataRange);
            if (update.Operation != UpdateOperation.Delete)
            {
                value = SHA256.HashData(signingBytes.AsSpan(dataRange));
            }

            if (!Ed25519Keys.Verify(author.PublicKey, signingBytes, signature))
            {
                return Reject(RejectionCodes.InvalidSignature, "The v2 proof does not verify with sourceDid's key.", update.UpdateId);
            }
        }
        catch (SignatureFormatException e)
        {
            return Reject(RejectionCodes.InvalidSignature, e.Message, update.UpdateId);
        }

        var hash = Hex.Encode(SHA256.HashData(signingBytes));
        return new UpdateCandidate(index, json, update, hash, MerkleHashes.KeyOf(update.Path), value, documentBytes, null);
    }

    /// <summary>Whether <paramref name="update"/>'s author may write into <paramref name="anchorDid"/>: the parent itself, or a granted clone.</summary>
    public static UpdateRejection? CheckAuthor(int index, StateUpdate update, string anchorDid, IReadOnlyDictionary<string, WriterGrant> writers)
    {
        if (string.Equals(update.SourceDid, anchorDid, StringComparison.Ordinal))
        {
            return null;
        }

        if (!writers.TryGetValue(update.SourceCloneId, out var grant) || !string.Equals(grant.CloneDid, update.SourceDid, StringComparison.Ordinal))
        {
            return new UpdateRejection(index, update.UpdateId, RejectionCodes.UnknownAuthor, "The author is neither the parent nor a registered clone of it.");
        }

        return grant.CanWrite
            ? null
            : new UpdateRejection(index, update.UpdateId, RejectionCodes.WriteForbidden, "The clone may not write (suspended, removed, or read-only).");
    }
}
