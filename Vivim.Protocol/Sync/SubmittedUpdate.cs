using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;

namespace Vivim.Protocol.Sync;

/// <summary>
/// An update submitted to an anchor, read in one pass without a JSON tree when its text is already what
/// <c>JSON.stringify</c> writes (what the SDKs send): the record, the v2 signing bytes with the place of <c>data</c>
/// in them, the proof's signature, and the text the log stores, which is the submitted text with the anchor's
/// <c>seq</c> and <c>merkleProof</c> put in. Anything else is declined, and the anchor takes its tree path, whose
/// results and refusals these are by construction.
/// </summary>
public sealed class SubmittedUpdate
{
    private readonly byte[] _utf8;
    private readonly Range _merkleProof;
    private readonly Range _seq;

    private SubmittedUpdate(StateUpdate update, byte[] signingBytes, Range data, byte[] proofSignature, byte[] utf8, Range merkleProof, Range seq)
    {
        Update = update;
        SigningBytes = signingBytes;
        Data = data;
        ProofSignature = proofSignature;
        _utf8 = utf8;
        _merkleProof = merkleProof;
        _seq = seq;
    }

    public StateUpdate Update { get; }

    /// <summary>The v2 signing bytes.</summary>
    public byte[] SigningBytes { get; }

    /// <summary>Where the canonical form of <c>data</c> lies in <see cref="SigningBytes"/>.</summary>
    public Range Data { get; }

    /// <summary>The 64 bytes of the v2 proof's signature.</summary>
    public byte[] ProofSignature { get; }

    /// <summary>
    /// True when <paramref name="utf8"/> is a well-formed update in <c>JSON.stringify</c>'s form within
    /// <paramref name="limits"/>, with a document (not <c>null</c>), an exactly shaped v2 proof and a v1 signature of
    /// signature form. False for anything else, valid or not: the caller then parses it the strict way, which says why.
    /// </summary>
    /// <remarks><paramref name="utf8"/> is kept, not copied: the caller hands it over.</remarks>
    public static bool TryRead(byte[] utf8, JsonLimits limits, [NotNullWhen(true)] out SubmittedUpdate? read)
    {
        read = null;
        if (!ReceivedSigningText.TryRead(utf8, limits, out var signing, out var data, out var signature, out var stringifiedData, out var record, out var form)
            || record is null // a member named in another case or of another type: the tree path's reader says why
            || !form.IsStringified
            || form.MerkleProof.Equals(default(Range)))
        {
            return false;
        }

        var (dataStart, dataLength) = stringifiedData.GetOffsetAndLength(utf8.Length);
        if (dataLength == 0 || utf8.AsSpan(dataStart, dataLength).SequenceEqual("null"u8))
        {
            return false; // a delete's document: rare, and the tree path says what null means
        }

        // The v1 signature is only checked for form (the v2 proof covers what it covers).
        if (record.Signature is not { Length: Identity.Ed25519Keys.SignatureSize * 2 } v1 || !IsHex(v1))
        {
            return false;
        }

        read = new SubmittedUpdate(record, signing, data, signature, utf8, form.MerkleProof, form.Seq);
        return true;
    }

    /// <summary>
    /// The text the log stores for this update at <paramref name="seq"/>: as submitted, with <c>merkleProof</c> replaced
    /// in place and <c>seq</c> replaced in place or, when it was not there, added last, as a JSON object takes them.
    /// </summary>
    public string StoredText(long seq, string merkleProof)
    {
        // seq as JSON.stringify writes a safe integer; merkleProof as it writes a string.
        var seqText = Encoding.UTF8.GetBytes(seq.ToString(CultureInfo.InvariantCulture));
        var proofText = JavaScriptJson.StringifyToUtf8(System.Text.Json.Nodes.JsonValue.Create(merkleProof));
        var (proofStart, proofLength) = _merkleProof.GetOffsetAndLength(_utf8.Length);
        var hasSeq = !_seq.Equals(default(Range));
        var (seqStart, seqLength) = hasSeq ? _seq.GetOffsetAndLength(_utf8.Length) : (_utf8.Length - 1, 0);
        var seqMember = hasSeq ? seqText : [.. ",\"seq\":"u8, .. seqText];

        var buffer = ArrayPool<byte>.Shared.Rent(_utf8.Length + proofText.Length + seqMember.Length);
        try
        {
            var written = 0;
            var at = 0;
            void Replace(int start, int length, byte[] with)
            {
                _utf8.AsSpan(at, start - at).CopyTo(buffer.AsSpan(written));
                written += start - at;
                with.CopyTo(buffer.AsSpan(written));
                written += with.Length;
                at = start + length;
            }

            if (proofStart < seqStart)
            {
                Replace(proofStart, proofLength, proofText);
                Replace(seqStart, seqLength, seqMember);
            }
            else
            {
                Replace(seqStart, seqLength, seqMember);
                Replace(proofStart, proofLength, proofText);
            }

            _utf8.AsSpan(at).CopyTo(buffer.AsSpan(written));
            written += _utf8.Length - at;
            return Encoding.UTF8.GetString(buffer, 0, written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool IsHex(string text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
