using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.ExitNodes;
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
    private UpdateCandidate(int index, JsonObject? json, SubmittedUpdate? submitted, StateUpdate? update, string? hash, byte[]? key, byte[]? value, int documentBytes, UpdateRejection? rejection)
    {
        DocumentBytes = documentBytes;
        Index = index;
        Json = json;
        Submitted = submitted;
        Update = update;
        UpdateHash = hash;
        DocumentKey = key;
        DocumentValue = value;
        Rejection = rejection;
    }

    /// <summary>An anchor has its parent and its clones as authors; past this many, DIDs are simply parsed each time.</summary>
    public const int MaxCachedAuthors = 4096;

    public int Index { get; }

    /// <summary>The update as received (unknown members would have been refused by the shape check), when it was read through a tree.</summary>
    public JsonObject? Json { get; }

    /// <summary>The update as received, when its text was read in one pass (then <see cref="Json"/> is null).</summary>
    public SubmittedUpdate? Submitted { get; }

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
        UpdateCandidate Reject(string code, string reason, string? updateId = null) => Refused(index, code, reason, updateId);

        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > options.MaxUpdateBytes)
        {
            return Reject(RejectionCodes.TooLarge, $"The update is {bytes.Length} bytes; the limit is {options.MaxUpdateBytes}.");
        }

        // What the SDKs send (JSON.stringify's text) is read in one pass; anything else through a tree, which also
        // gives every refusal its reason.
        var limits = new JsonLimits(options.MaxUpdateBytes, JsonLimits.Default.MaxDepth);
        JsonObject? json = null;
        SubmittedUpdate? submitted = null;
        StateUpdate update;
        if (SubmittedUpdate.TryRead(bytes, limits, out submitted))
        {
            update = submitted.Update;
        }
        else
        {
            try
            {
                json = ProtocolJson.ParseObject(bytes, limits);
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
        }

        if (Rules(update, hasData: submitted is not null || json!["data"] is not null, options, now, out var documentBytes) is { } rule)
        {
            return Reject(rule.Code, rule.Reason, update.UpdateId);
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

        byte[]? value = null;
        byte[] signingBytes;
        try
        {
            // v2 covers everything v1 covers and more, so it is the one verified. The author's v1 signature (for SDK
            // 1.x readers) is checked for form only: verifying it as well would halve ingest, and a wrong one can
            // only make its own author's updates unreadable to SDK 1.x clients.
            byte[] signature;
            Range dataRange;
            if (submitted is not null)
            {
                (signingBytes, dataRange, signature) = (submitted.SigningBytes, submitted.Data, submitted.ProofSignature);
            }
            else
            {
                SignatureV1.ReadSignature(json!);
                signature = SignatureV2.ReadProofSignature(json!);

                // The signed form holds data's canonical form as a slice: its hash is the document's tree value.
                signingBytes = SignatureV2.SigningBytes(SignedKind.StateUpdate, json!, "data", out dataRange);
            }

            if (update.Operation != UpdateOperation.Delete)
            {
                value = ShortSha256.Hash(signingBytes.AsSpan(dataRange));
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

        var hash = Hex.Encode(ShortSha256.Hash(signingBytes));
        return new UpdateCandidate(index, json, submitted, update, hash, MerkleHashes.KeyOf(update.Path), value, documentBytes, null);
    }

    /// <summary>
    /// An owner update made and signed here, with the key the anchor holds: it is signed once (v1 for SDK 1.x readers,
    /// then v2) into the JSON that is stored, and its hashes come from the bytes just signed. There is nothing to
    /// verify, since no one but this anchor made the signature; the rules every update obeys still apply.
    /// </summary>
    public static UpdateCandidate Owned(int index, OwnerUpdate owner, SigningKey key, AnchorOptions options, long nowMs)
    {
        UpdateCandidate Reject(string code, string reason, string? updateId) => Refused(index, code, reason, updateId);

        var updateId = owner.UpdateId ?? Guid.NewGuid().ToString();
        if (owner.Path is null)
        {
            return Reject(RejectionCodes.InvalidShape, "path is required.", updateId);
        }

        if (!TypeNames.TryGetValue(owner.Type, out var type) || !OperationNames.TryGetValue(owner.Operation, out var operation))
        {
            return Reject(RejectionCodes.InvalidShape, "type or operation is not one of the protocol's.", updateId);
        }

        byte[] signingBytes;
        Range dataRange;
        StateUpdate update;
        JsonObject json;
        try
        {
            // The object a StateUpdate record serializes to (its members in declaration order, nulls left out, numbers
            // as parsed JSON holds them), built directly, and the record beside it from the same values: serializing
            // the record and reading it back cost a third of an owner update's work besides its two signatures.
            var data = ProtocolJson.Parse(owner.Data.Text ?? "null", new JsonLimits(options.MaxUpdateBytes, JsonLimits.Default.MaxDepth));
            json = new JsonObject
            {
                ["updateId"] = updateId,
                ["type"] = type,
                ["timestamp"] = (double)nowMs,
                ["sourceDid"] = key.Did.Value,
                ["sourceCloneId"] = string.Empty,
                ["operation"] = operation,
                ["path"] = owner.Path,
                ["data"] = data,
                ["merkleProof"] = string.Empty,
                ["signature"] = string.Empty,

                // Held in place for the v2 proof (which does not cover it), so that it stands before baseSeq as in a parsed update.
                ["proof"] = null,
            };
            if (owner.BaseSeq is { } baseSeq)
            {
                json["baseSeq"] = (double)baseSeq;
            }

            var signature = SignatureV1.Sign(key, json, SignatureV1.StateUpdateFields);
            json["signature"] = signature;
            signingBytes = SignatureV2.SigningBytes(SignedKind.StateUpdate, json, "data", out dataRange);
            var proof = new V2Proof(SignatureV2.ProofType, Hex.Encode(key.Sign(signingBytes)));
            json["proof"] = new JsonObject
            {
                ["type"] = proof.Type,
                ["signature"] = proof.Signature,
            };
            update = new StateUpdate(updateId, owner.Type, nowMs, key.Did.Value, string.Empty, owner.Operation, owner.Path, RawJson.From(data), string.Empty,
                signature, proof, Seq: null, BaseSeq: owner.BaseSeq);
        }
        catch (JsonFormatException e)
        {
            return Reject(RejectionCodes.InvalidJson, e.Message, updateId);
        }

        // The record's integers are those every JSON reader holds exactly, as for a received update.
        if (owner.BaseSeq is { } asked && Math.Abs((double)asked) > MaxSafeInteger)
        {
            return Reject(RejectionCodes.InvalidShape, "Not a valid StateUpdate at $.baseSeq: 'baseSeq' must be an integer.", updateId);
        }

        // Judged on the record as read back, as a received update is: its document in normal form.
        if (Rules(update, hasData: json["data"] is not null, options, now: null, out var documentBytes) is { } rule)
        {
            return Reject(rule.Code, rule.Reason, updateId);
        }

        // Only a document near the limit can make the whole update too large; measure the text exactly then.
        if (documentBytes + Encoding.UTF8.GetByteCount(update.Path) + OwnedOverheadBytes > options.MaxUpdateBytes
            && JavaScriptJson.StringifyToUtf8(json).Length is var bytes && bytes > options.MaxUpdateBytes)
        {
            return Reject(RejectionCodes.TooLarge, $"The update is {bytes} bytes; the limit is {options.MaxUpdateBytes}.", updateId);
        }

        var value = update.Operation == UpdateOperation.Delete ? null : ShortSha256.Hash(signingBytes.AsSpan(dataRange));
        return new UpdateCandidate(index, json, null, update, Hex.Encode(ShortSha256.Hash(signingBytes)), MerkleHashes.KeyOf(update.Path), value, documentBytes, null);
    }

    private static readonly Dictionary<UpdateType, string> TypeNames = Enum.GetValues<UpdateType>().ToDictionary(v => v, v => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(v.ToString()));

    private static readonly Dictionary<UpdateOperation, string> OperationNames = Enum.GetValues<UpdateOperation>().ToDictionary(v => v, v => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(v.ToString()));

    private static UpdateCandidate Refused(int index, string code, string reason, string? updateId) =>
        new(index, null, null, null, null, null, null, 0, new UpdateRejection(index, updateId, code, reason));

    /// <summary>
    /// More than an owner update's members other than data and path can take: the DID (about 60 bytes), an updateId of
    /// at most 128 characters, both signatures, a 20-digit timestamp and baseSeq, member names and punctuation.
    /// </summary>
    private const int OwnedOverheadBytes = 2048;

    /// <summary>2^53 - 1: the largest integer a JSON number (an IEEE-754 double) holds exactly.</summary>
    private const double MaxSafeInteger = 9007199254740991;

    /// <summary>The rules for any update's content, in the order their refusals are reported; timestamps only when <paramref name="now"/> is given.</summary>
    private static (string Code, string Reason)? Rules(StateUpdate update, bool hasData, AnchorOptions options, DateTimeOffset? now, out int documentBytes)
    {
        documentBytes = 0;
        if (string.IsNullOrWhiteSpace(update.UpdateId) || update.UpdateId.Length > 128)
        {
            return (RejectionCodes.InvalidShape, "updateId must be 1 to 128 characters.");
        }

        if (StateRules.PathProblem(update.Path, update.Type) is { } pathProblem)
        {
            return (RejectionCodes.InvalidPath, pathProblem);
        }

        if (update.Path is "identity/did" or "identity/publicKey")
        {
            return (RejectionCodes.InvalidPath, "identity/did and identity/publicKey are fixed by the DID itself.");
        }

        if (now is { } at)
        {
            if (update.Timestamp > (at + options.MaxClockSkew).ToUnixTimeMilliseconds())
            {
                return (RejectionCodes.TimestampInFuture, $"The timestamp is more than {options.MaxClockSkew.TotalMinutes:0} minutes in the future.");
            }

            if (update.Timestamp < (at - options.Retention).ToUnixTimeMilliseconds())
            {
                return (RejectionCodes.TimestampExpired, "The timestamp is older than the log's retention, so a replay could not be told apart.");
            }
        }

        if (update.Operation != UpdateOperation.Delete)
        {
            documentBytes = StateRules.DocumentBytes(update.Data);
            if (documentBytes > options.MaxDocumentBytes)
            {
                return (RejectionCodes.TooLarge, $"The document is {documentBytes} bytes; the limit is {options.MaxDocumentBytes}.");
            }

            if (!hasData)
            {
                return (RejectionCodes.InvalidShape, "create and update need a document in data.");
            }
        }

        return null;
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
