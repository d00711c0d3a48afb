using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Protocol.Sync;

/// <summary>
/// What each update record was parsed from, as a transport received it. A clone's update hash must come from the
/// update as received (docs/protocol.md §7); without this, the verifier turns the record back into JSON to hash it.
/// Tied to the record instance: a copy (<c>update with { … }</c>) has no received form and is hashed from its fields,
/// so a record can never be vouched for by JSON it was not parsed from.
/// </summary>
public static class ReceivedUpdates
{
    private static readonly ConditionalWeakTable<StateUpdate, ReceivedUpdate> Sources = [];

    /// <summary>Parses one update (strict protocol JSON) and remembers the form it came in.</summary>
    public static StateUpdate Parse(ReadOnlySpan<byte> utf8, JsonLimits? limits = null)
    {
        // Text in canonical token form (what the log stores) gives the signing bytes in one pass with no tree, and
        // usually the record too; it passes the strict parse's rules, so else the record is read straight from it.
        if (ReceivedSigningText.TryRead(utf8, limits ?? JsonLimits.Default, out var signing, out var data, out var signature, out var stringified, out var record))
        {
            if (record is not null)
            {
                Sources.AddOrUpdate(record, new ReceivedUpdate(signing, data, signature, null));
                return record;
            }

            var (start, length) = stringified.GetOffsetAndLength(utf8.Length);
            RawJsonConverter.t_stringified = length == 0 ? null : (start, Encoding.UTF8.GetString(utf8.Slice(start, length)));
            StateUpdate read;
            try
            {
                read = ProtocolModel.FromCheckedUtf8<StateUpdate>(utf8);
            }
            finally
            {
                RawJsonConverter.t_stringified = null;
            }

            Sources.AddOrUpdate(read, new ReceivedUpdate(signing, data, signature, null));
            return read;
        }

        return ParseThroughTree(utf8, limits);
    }

    /// <summary>The strict parse into a tree and the signing bytes written from it: the way for any text not plainly canonical.</summary>
    internal static StateUpdate ParseThroughTree(ReadOnlySpan<byte> utf8, JsonLimits? limits = null)
    {
        var json = ProtocolJson.ParseObject(utf8, limits);

        // The record from the same bytes the strict parse accepted: no writing the object back out to read it.
        var update = ProtocolModel.FromCheckedUtf8<StateUpdate>(utf8);
        Sources.AddOrUpdate(update, ReceivedUpdate.From(json));
        return update;
    }

    /// <summary>Reads the record from <paramref name="json"/>, which the caller hands over and no longer changes.</summary>
    public static StateUpdate FromJsonObject(JsonObject json)
    {
        var update = ProtocolModel.FromJsonObject<StateUpdate>(json);
        Sources.AddOrUpdate(update, ReceivedUpdate.From(json));
        return update;
    }

    /// <summary>The form <paramref name="update"/> was received in, if a transport parsed it through this class.</summary>
    public static bool TryGet(StateUpdate update, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ReceivedUpdate? received) =>
        Sources.TryGetValue(update, out received);
}

/// <summary>
/// An update as received, kept as what verifying it needs rather than as its JSON tree (a page's thousand trees
/// would otherwise live until the page is applied): the v2 signing bytes (one canonical form gives the update
/// hash, the document's tree value and the author's signing input), where the document's canonical form lies in
/// them, and the v2 proof's signature. When either cannot be read the JSON itself is kept, so the verifier reports
/// the problem exactly as it would from the JSON.
/// </summary>
public sealed class ReceivedUpdate
{
    internal ReceivedUpdate(byte[]? signingBytes, Range data, byte[]? proofSignature, JsonObject? json)
    {
        SigningBytes = signingBytes;
        Data = data;
        ProofSignature = proofSignature;
        Json = json;
    }

    /// <summary>The v2 signing bytes; null when <see cref="Json"/> is kept instead.</summary>
    public byte[]? SigningBytes { get; }

    /// <summary>Where the canonical form of <c>data</c> lies in <see cref="SigningBytes"/>.</summary>
    public Range Data { get; }

    /// <summary>The 64 bytes of the v2 proof's signature; null when <see cref="Json"/> is kept instead.</summary>
    public byte[]? ProofSignature { get; }

    /// <summary>The JSON as received, kept only when the signing bytes or the proof's signature could not be read from it.</summary>
    public JsonObject? Json { get; }

    internal static ReceivedUpdate From(JsonObject json)
    {
        try
        {
            var signing = SignatureV2.SigningBytes(SignedKind.StateUpdate, json, "data", out var data);
            return new ReceivedUpdate(signing, data, SignatureV2.ReadProofSignature(json), null);
        }
        catch (Exception e) when (e is ProtocolException or ArgumentException or FormatException)
        {
            return new ReceivedUpdate(null, default, null, json);
        }
    }
}
