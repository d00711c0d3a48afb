using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;

namespace Vivim.Protocol.Sync;

/// <summary>
/// A received update's v2 signing bytes, the place of its <c>data</c> in them and its proof's signature, read in one
/// pass over its text instead of from a JSON tree. The log stores updates as <c>JSON.stringify</c> writes them, whose
/// strings and numbers are already in RFC 8785's form; only the members' order differs, so each object's members are
/// copied and, when out of order, put in order. The pass holds the text to the strict parse's rules and succeeds only
/// when every string and number is in canonical form, no key repeats and the proof has its exact shape; anything else
/// (an escape written another way, <c>1e2</c>, <c>-0</c>, a refusal, a large unsorted object) returns false and the
/// caller takes the tree path, so what this gives is that path's result by construction.
/// </summary>
internal static class ReceivedSigningText
{
    /// <summary>An unsorted object with more members than this goes the tree way rather than through an insertion sort.</summary>
    private const int MaxUnsortedMembers = 128;

    // What the v2 signature of a StateUpdate is made of, from SignatureV2 itself, so the two paths cannot drift apart.
    private static readonly byte[] Prefix = SignatureV2.DomainPrefix(SignedKind.StateUpdate);
    private static readonly byte[][] ExcludedAtTop = [.. SignatureV2.ExcludedMembers(SignedKind.StateUpdate).Select(Encoding.UTF8.GetBytes)];
    private static readonly byte[] ProofType = Encoding.UTF8.GetBytes(SignatureV2.ProofType);

    /// <summary>The length of <c>{"type":"vivim-v2","signature":"…"}</c> as <c>JSON.stringify</c> writes it.</summary>
    private static readonly int CompactProofLength = "{\"type\":\"\",\"signature\":\"\"}".Length + ProofType.Length + (Ed25519Keys.SignatureSize * 2);

    [ThreadStatic]
    private static Member[]? t_members;

    /// <summary>
    /// True with the results when the text is a plainly canonical update within <paramref name="limits"/>; false when
    /// it is anything else, including anything the strict parse or the tree path's signing bytes would refuse.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> utf8, JsonLimits limits, out byte[] signingBytes, out Range data, out byte[] proofSignature) =>
        TryRead(utf8, limits, out signingBytes, out data, out proofSignature, out _);

    /// <summary>
    /// As above, and where <c>data</c> lies in <paramref name="utf8"/> when its text there is already what
    /// <c>JSON.stringify</c> writes for it (no whitespace, no array-index keys that it would move first): the
    /// record's <see cref="Model.RawJson"/> is then that text, not a tree of it written out again.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> utf8, JsonLimits limits, out byte[] signingBytes, out Range data, out byte[] proofSignature, out Range stringifiedData) =>
        TryRead(utf8, limits, out signingBytes, out data, out proofSignature, out stringifiedData, out _);

    /// <summary>
    /// As above, and the record itself when the same pass could read it: every member named exactly as the SDK
    /// names it, of its type (strings, enums by exact name, safe integers), none missing, and <c>data</c> already
    /// in <c>JSON.stringify</c>'s form. Null otherwise, when the record reader's strict rules decide (and word any
    /// refusal) as before; a record read here is the one that reader gives, by construction.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> utf8, JsonLimits limits, out byte[] signingBytes, out Range data, out byte[] proofSignature, out Range stringifiedData, out StateUpdate? record) =>
        TryRead(utf8, limits, out signingBytes, out data, out proofSignature, out stringifiedData, out record, out _);

    /// <summary>
    /// As above, and whether the whole text is already what <c>JSON.stringify</c> writes for it (no whitespace, no
    /// array-index keys), with where the values of <c>merkleProof</c> and <c>seq</c> lie in it: an anchor then stores
    /// the text with those two values replaced instead of a tree of it written out again.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> utf8, JsonLimits limits, out byte[] signingBytes, out Range data, out byte[] proofSignature, out Range stringifiedData, out StateUpdate? record, out StringifiedUpdate stringified)
    {
        record = null;
        stringified = default;
        stringifiedData = default;
        signingBytes = [];
        data = default;
        proofSignature = [];
        if (utf8.Length > limits.MaxBytes || !Utf8.IsValid(utf8))
        {
            return false;
        }

        // The tree path parses under the caller's limits and writes the signing bytes under the default ones.
        var maxDepth = Math.Min(limits.MaxDepth, JsonLimits.Default.MaxDepth);
        var output = ArrayPool<byte>.Shared.Rent(Prefix.Length + utf8.Length);
        var pass = new Pass(utf8, output, maxDepth);
        try
        {
            Prefix.CopyTo(output, 0);
            pass.Position = Prefix.Length;
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions
            {
                MaxDepth = maxDepth + 1,
                CommentHandling = JsonCommentHandling.Disallow,
                AllowTrailingCommas = false,
            });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject
                || !pass.Object(ref reader, 1, emit: true)
                || reader.Read()
                || pass.Position - Prefix.Length > JsonLimits.Default.MaxBytes
                || !TryReadProof(utf8[pass.ProofValue], out proofSignature, out var proofHex))
            {
                return false;
            }

            signingBytes = output.AsSpan(0, pass.Position).ToArray();
            data = pass.Data;
            var (_, dataLength) = pass.DataInput.GetOffsetAndLength(utf8.Length);
            if (dataLength > 0 && dataLength == pass.DataLength && !pass.IndexLikeKey && dataLength <= JsonLimits.Default.MaxBytes)
            {
                stringifiedData = pass.DataInput;
                record = pass.Record.Build(Encoding.UTF8.GetString(utf8[pass.DataInput]), proofHex);

                // Each left-out member is `"key":value` and a comma; the rest of the text is what was copied.
                var (_, proofLength) = pass.ProofValue.GetOffsetAndLength(utf8.Length);
                if (pass.ExcludedBytes >= 0 && proofLength == CompactProofLength && utf8.Length == pass.Position - Prefix.Length + pass.ExcludedBytes)
                {
                    stringified = new StringifiedUpdate(true, pass.MerkleProofValue, pass.SeqValue);
                }
            }

            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return false; // malformed: the strict parse says how
        }
        finally
        {
            pass.Release();
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    /// <summary>The signature of a proof written exactly <c>{"type":"vivim-v2","signature":"…128 hex…"}</c> (either order).</summary>
    private static bool TryReadProof(ReadOnlySpan<byte> proof, out byte[] signature, out ReadOnlySpan<byte> hexText)
    {
        signature = [];
        hexText = default;
        if (proof.IsEmpty)
        {
            return false;
        }

        var reader = new Utf8JsonReader(proof);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        ReadOnlySpan<byte> type = default, hex = default;
        var members = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            members++;
            var escaped = reader.ValueIsEscaped;
            var key = reader.ValueSpan;
            reader.Read();
            if (escaped || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
            {
                return false;
            }

            if (key.SequenceEqual("type"u8))
            {
                type = reader.ValueSpan;
            }
            else if (key.SequenceEqual("signature"u8))
            {
                hex = reader.ValueSpan;
            }
        }

        if (members != 2 || !type.SequenceEqual(ProofType) || hex.Length != Ed25519Keys.SignatureSize * 2)
        {
            return false;
        }

        Span<char> chars = stackalloc char[Ed25519Keys.SignatureSize * 2];
        for (var i = 0; i < hex.Length; i++)
        {
            chars[i] = (char)hex[i];
        }

        var bytes = new byte[Ed25519Keys.SignatureSize];
        if (Convert.FromHexString(chars, bytes, out _, out var written) != OperationStatus.Done || written != bytes.Length)
        {
            return false;
        }

        signature = bytes;
        hexText = hex;
        return true;
    }

    /// <summary>A member of an object being copied: its key in the input and its <c>"key":value</c> in the output.</summary>
    private struct Member
    {
        public int KeyStart;
        public int KeyLength;
        public bool KeyEscaped;
        public bool KeyAscii;
        public bool Emitted;
        public int OutStart;
        public int OutEnd;
        public int ValueOffset;
    }

    private ref struct Pass
    {
        private readonly ReadOnlySpan<byte> _input;
        private readonly byte[] _output;
        private readonly int _maxDepth;
        private Member[] _members;
        private int _memberCount;
        private byte[]? _scratch;

        public Pass(ReadOnlySpan<byte> input, byte[] output, int maxDepth)
        {
            _input = input;
            _output = output;
            _maxDepth = maxDepth;
            _members = t_members ?? new Member[64];
            t_members = null;
        }

        public int Position;

        public Range Data;

        public Range ProofValue;

        /// <summary>Where the top-level <c>data</c> lies in the input, and how long its canonical form is (equal only without whitespace).</summary>
        public Range DataInput;

        public int DataLength;

        /// <summary>Whether any key is all digits, which <c>JSON.stringify</c> may move ahead of the others.</summary>
        public bool IndexLikeKey;

        /// <summary>The input bytes of the top-level members left out of the signing bytes, each with one comma; -1 when one has whitespace in it.</summary>
        public int ExcludedBytes;

        public Range MerkleProofValue;

        public Range SeqValue;

        /// <summary>The record's members as the pass meets them at the top level.</summary>
        public RecordFields Record;

        public void Release()
        {
            t_members = _members;
            if (_scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(_scratch);
                _scratch = null;
            }
        }

        private bool Value(ref Utf8JsonReader reader, int depth, bool emit)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    return Object(ref reader, depth, emit);
                case JsonTokenType.StartArray:
                    return Array(ref reader, depth, emit);
                case JsonTokenType.String:
                    {
                        var raw = reader.ValueSpan;
                        if (reader.ValueIsEscaped && !CanonicalEscapes(raw))
                        {
                            return false;
                        }

                        if (emit)
                        {
                            PutString(raw);
                        }

                        return true;
                    }

                case JsonTokenType.Number:
                    {
                        var raw = reader.ValueSpan;
                        if (!reader.TryGetDouble(out var number) || !double.IsFinite(number) || !CanonicalNumber(raw, number))
                        {
                            return false;
                        }

                        if (emit)
                        {
                            Put(raw);
                        }

                        return true;
                    }

                case JsonTokenType.True:
                    if (emit)
                    {
                        Put("true"u8);
                    }

                    return true;
                case JsonTokenType.False:
                    if (emit)
                    {
                        Put("false"u8);
                    }

                    return true;
                case JsonTokenType.Null:
                    if (emit)
                    {
                        Put("null"u8);
                    }

                    return true;
                default:
                    return false;
            }
        }

        private bool Array(ref Utf8JsonReader reader, int depth, bool emit)
        {
            if (depth > _maxDepth)
            {
                return false;
            }

            if (emit)
            {
                Put((byte)'[');
            }

            var first = true;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (emit && !first)
                {
                    Put((byte)',');
                }

                first = false;
                if (!Value(ref reader, depth + 1, emit))
                {
                    return false;
                }
            }

            if (emit)
            {
                Put((byte)']');
            }

            return true;
        }

        public bool Object(ref Utf8JsonReader reader, int depth, bool emit)
        {
            if (depth > _maxDepth)
            {
                return false;
            }

            if (emit)
            {
                Put((byte)'{');
            }

            var first = _memberCount;
            var regionStart = Position;
            var sorted = true;
            var anyEmitted = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.ValueSpan;
                var escaped = reader.ValueIsEscaped;
                if (escaped && !CanonicalEscapes(key))
                {
                    return false;
                }

                _input.Overlaps(key, out var keyStart);
                IndexLikeKey |= key.Length is > 0 and <= 10 && !key.ContainsAnyExceptInRange((byte)'0', (byte)'9');
                var excluded = depth == 1 && IsExcludedAtTop(key);
                var memberEmit = emit && !excluded;
                if (memberEmit && anyEmitted)
                {
                    Put((byte)',');
                }

                var start = Position;
                if (memberEmit)
                {
                    PutString(key);
                    Put((byte)':');
                }

                var valueStart = Position;
                var isProof = depth == 1 && key.SequenceEqual("proof"u8);
                reader.Read();
                var valueInputStart = (int)reader.TokenStartIndex;
                if (!Value(ref reader, depth + 1, memberEmit))
                {
                    return false;
                }

                // After the value passed the strict rules (a lone surrogate's escape would make the reader throw), and
                // while a scalar is still the reader's token; a member whose value is an object or array is not read.
                if (depth == 1)
                {
                    Record.Take(escaped ? default : key, ref reader);
                }

                if (excluded)
                {
                    var valueEnd = (int)reader.BytesConsumed;

                    // "key":value with nothing between; a value that is an object (the proof) is measured on its own.
                    ExcludedBytes = ExcludedBytes >= 0 && !escaped && valueInputStart == keyStart + key.Length + 2
                        ? ExcludedBytes + (valueEnd - keyStart + 1) + 1
                        : -1;
                    if (key.SequenceEqual("merkleProof"u8))
                    {
                        MerkleProofValue = valueInputStart..valueEnd;
                    }
                    else if (key.SequenceEqual("seq"u8))
                    {
                        SeqValue = valueInputStart..valueEnd;
                    }
                }

                if (isProof)
                {
                    ProofValue = valueInputStart..(int)reader.BytesConsumed;
                }
                else if (depth == 1 && memberEmit && key.SequenceEqual("data"u8))
                {
                    DataInput = valueInputStart..(int)reader.BytesConsumed;
                    DataLength = Position - valueStart;
                }

                anyEmitted |= memberEmit;
                Push(new Member
                {
                    KeyStart = keyStart,
                    KeyLength = key.Length,
                    KeyEscaped = escaped,
                    KeyAscii = !escaped && Ascii.IsValid(key),
                    Emitted = memberEmit,
                    OutStart = start,
                    OutEnd = Position,
                    ValueOffset = valueStart - start,
                });
                if (_memberCount - first >= 2)
                {
                    var order = Compare(_members[_memberCount - 2], _members[_memberCount - 1]);
                    if (order == 0)
                    {
                        return false; // a repeated key: the strict parse refuses it
                    }

                    sorted &= order < 0;
                }
            }

            var members = _members.AsSpan(first, _memberCount - first);
            if (!sorted && !Sort(members))
            {
                return false;
            }

            if (!sorted && emit)
            {
                Reorder(members, regionStart);
            }

            if (depth == 1)
            {
                foreach (var member in members)
                {
                    if (member.Emitted && _input.Slice(member.KeyStart, member.KeyLength).SequenceEqual("data"u8))
                    {
                        Data = (member.OutStart + member.ValueOffset)..member.OutEnd;
                    }
                }
            }

            _memberCount = first;
            if (emit)
            {
                Put((byte)'}');
            }

            return true;
        }

        /// <summary>Sorts by key as RFC 8785 does; false for a repeated key or an object too large to sort here.</summary>
        private readonly bool Sort(Span<Member> members)
        {
            if (members.Length > MaxUnsortedMembers)
            {
                return false;
            }

            for (var i = 1; i < members.Length; i++)
            {
                var member = members[i];
                var j = i - 1;
                while (j >= 0)
                {
                    var order = Compare(members[j], member);
                    if (order == 0)
                    {
                        return false;
                    }

                    if (order < 0)
                    {
                        break;
                    }

                    members[j + 1] = members[j];
                    j--;
                }

                members[j + 1] = member;
            }

            return true;
        }

        /// <summary>Rewrites the object's members (already copied from <paramref name="regionStart"/>) in sorted order.</summary>
        private void Reorder(Span<Member> members, int regionStart)
        {
            var length = Position - regionStart;
            if (_scratch is null || _scratch.Length < length)
            {
                if (_scratch is not null)
                {
                    ArrayPool<byte>.Shared.Return(_scratch);
                }

                _scratch = ArrayPool<byte>.Shared.Rent(Math.Max(length, 256));
            }

            _output.AsSpan(regionStart, length).CopyTo(_scratch);
            Position = regionStart;
            var any = false;
            for (var i = 0; i < members.Length; i++)
            {
                ref var member = ref members[i];
                if (!member.Emitted)
                {
                    continue;
                }

                if (any)
                {
                    Put((byte)',');
                }

                any = true;
                var start = Position;
                Put(_scratch.AsSpan(member.OutStart - regionStart, member.OutEnd - member.OutStart));
                member.OutStart = start;
                member.OutEnd = Position;
            }
        }

        /// <summary>Key order by UTF-16 code units (RFC 8785 §3.2.3): bytewise for ASCII keys, else on the decoded keys.</summary>
        private readonly int Compare(in Member a, in Member b)
        {
            var left = _input.Slice(a.KeyStart, a.KeyLength);
            var right = _input.Slice(b.KeyStart, b.KeyLength);
            return a.KeyAscii && b.KeyAscii
                ? Math.Sign(left.SequenceCompareTo(right))
                : Math.Sign(string.CompareOrdinal(Decode(left, a.KeyEscaped), Decode(right, b.KeyEscaped)));
        }

        private void Push(Member member)
        {
            if (_memberCount == _members.Length)
            {
                System.Array.Resize(ref _members, _members.Length * 2);
            }

            _members[_memberCount++] = member;
        }

        private void PutString(ReadOnlySpan<byte> raw)
        {
            Put((byte)'"');
            Put(raw);
            Put((byte)'"');
        }

        private void Put(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_output.AsSpan(Position));
            Position += bytes.Length;
        }

        private void Put(byte b) => _output[Position++] = b;
    }

    /// <summary>
    /// A StateUpdate's members read as the pass meets them, under the record reader's rules (ProtocolModel's options):
    /// exact names, strings as strings, enums by exact camelCase name, integers exact and safe, the optional seqs
    /// possibly null. Anything else, a name in another case included, leaves the record to that reader.
    /// </summary>
    private struct RecordFields
    {
        private const int Required = (1 << 10) - 1;

        // The author's DID and clone repeat through a page: the last ones read on this thread are used again.
        [ThreadStatic]
        private static string? t_lastDid;

        [ThreadStatic]
        private static string? t_lastClone;

        private static readonly (byte[] Name, UpdateType Value)[] Types = Names<UpdateType>();
        private static readonly (byte[] Name, UpdateOperation Value)[] Operations = Names<UpdateOperation>();

        private int _seen;
        private bool _unreadable;
        private string? _updateId, _sourceDid, _sourceCloneId, _path, _merkleProof, _signature;
        private UpdateType _type;
        private UpdateOperation _operation;
        private long _timestamp;
        private long? _seq, _baseSeq;

        /// <summary>Reads the value the reader is on as the member <paramref name="key"/> (empty when escaped: not read).</summary>
        public void Take(ReadOnlySpan<byte> key, ref Utf8JsonReader reader)
        {
            if (_unreadable)
            {
                return;
            }

            var ok = key switch
            {
                _ when key.SequenceEqual("updateId"u8) => See(0) && String(ref reader, out _updateId),
                _ when key.SequenceEqual("type"u8) => See(1) && Enum(ref reader, Types, out _type),
                _ when key.SequenceEqual("timestamp"u8) => See(2) && Integer(ref reader, out _timestamp),
                _ when key.SequenceEqual("sourceDid"u8) => See(3) && Repeated(ref reader, ref t_lastDid, out _sourceDid),
                _ when key.SequenceEqual("sourceCloneId"u8) => See(4) && Repeated(ref reader, ref t_lastClone, out _sourceCloneId),
                _ when key.SequenceEqual("operation"u8) => See(5) && Enum(ref reader, Operations, out _operation),
                _ when key.SequenceEqual("path"u8) => See(6) && String(ref reader, out _path),
                _ when key.SequenceEqual("data"u8) => See(7), // its text is taken from the input at the end
                _ when key.SequenceEqual("merkleProof"u8) => See(8) && String(ref reader, out _merkleProof),
                _ when key.SequenceEqual("signature"u8) => See(9) && String(ref reader, out _signature),
                _ when key.SequenceEqual("proof"u8) => See(10), // read by TryReadProof, which needs its exact shape
                _ when key.SequenceEqual("seq"u8) => See(11) && OptionalInteger(ref reader, out _seq),
                _ when key.SequenceEqual("baseSeq"u8) => See(12) && OptionalInteger(ref reader, out _baseSeq),
                _ => false,
            };
            _unreadable = !ok;
        }

        /// <summary>The record, when every member was read and the required ones are there; else null.</summary>
        public readonly StateUpdate? Build(string data, ReadOnlySpan<byte> proofHex)
        {
            if (_unreadable || (_seen & Required) != Required || (_seen & (1 << 10)) == 0)
            {
                return null;
            }

            return new StateUpdate(
                _updateId!,
                _type,
                _timestamp,
                _sourceDid!,
                _sourceCloneId!,
                _operation,
                _path!,
                new RawJson(data),
                _merkleProof!,
                _signature!,
                new V2Proof(SignatureV2.ProofType, Encoding.ASCII.GetString(proofHex)),
                _seq,
                _baseSeq);
        }

        private bool See(int member)
        {
            var bit = 1 << member;
            var first = (_seen & bit) == 0;
            _seen |= bit;
            return first;
        }

        private static bool String(ref Utf8JsonReader reader, out string? value)
        {
            value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            return value is not null;
        }

        private static bool Repeated(ref Utf8JsonReader reader, ref string? last, out string? value)
        {
            if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && last is not null
                && reader.ValueSpan.Length == last.Length && Ascii.Equals(reader.ValueSpan, last))
            {
                value = last;
                return true;
            }

            if (!String(ref reader, out value))
            {
                return false;
            }

            last = value;
            return true;
        }

        private static bool Enum<T>(ref Utf8JsonReader reader, (byte[] Name, T Value)[] names, out T value)
            where T : struct
        {
            value = default;
            if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
            {
                return false;
            }

            foreach (var (name, named) in names)
            {
                if (reader.ValueSpan.SequenceEqual(name))
                {
                    value = named;
                    return true;
                }
            }

            return false;
        }

        private static bool Integer(ref Utf8JsonReader reader, out long value)
        {
            value = 0;
            return reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var number) && SafeIntegerConverter.TryRead(number, out value);
        }

        private static bool OptionalInteger(ref Utf8JsonReader reader, out long? value)
        {
            value = null;
            if (reader.TokenType == JsonTokenType.Null)
            {
                return true;
            }

            if (!Integer(ref reader, out var integer))
            {
                return false;
            }

            value = integer;
            return true;
        }

        private static (byte[] Name, T Value)[] Names<T>()
            where T : struct, System.Enum =>
            [.. System.Enum.GetValues<T>().Select(v => (Encoding.UTF8.GetBytes(JsonNamingPolicy.CamelCase.ConvertName(v.ToString())), v))];
    }

    private static bool IsExcludedAtTop(ReadOnlySpan<byte> key)
    {
        foreach (var excluded in ExcludedAtTop)
        {
            if (key.SequenceEqual(excluded))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether a string's escapes are exactly the ones RFC 8785 writes: <c>\" \\ \b \f \n \r \t</c>, and <c>\u00xx</c>
    /// (lowercase) for the other controls. Anything else (<c>\/</c>, <c>\u0041</c>, a surrogate escape) is not.
    /// </summary>
    private static bool CanonicalEscapes(ReadOnlySpan<byte> raw)
    {
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != (byte)'\\')
            {
                continue;
            }

            switch (raw[++i])
            {
                case (byte)'"' or (byte)'\\' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                    break;
                case (byte)'u':
                    if (raw[i + 1] != (byte)'0' || raw[i + 2] != (byte)'0' || raw[i + 3] is not ((byte)'0' or (byte)'1') || !IsLowerHex(raw[i + 4]))
                    {
                        return false;
                    }

                    var c = ((raw[i + 3] - '0') << 4) | HexValue(raw[i + 4]);
                    if (c is '\b' or '\f' or '\n' or '\r' or '\t')
                    {
                        return false; // RFC 8785 writes these short
                    }

                    i += 4;
                    break;
                default:
                    return false;
            }
        }

        return true;
    }

    private static bool IsLowerHex(byte b) => b is (>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f');

    private static int HexValue(byte b) => b <= '9' ? b - '0' : b - 'a' + 10;

    /// <summary>Whether a number's text is what ECMAScript's Number::toString writes for its value.</summary>
    private static bool CanonicalNumber(ReadOnlySpan<byte> raw, double value)
    {
        // Integers of up to 15 digits without a leading zero or a minus zero: the common case, exact as written.
        var digits = raw[0] == (byte)'-' ? raw[1..] : raw;
        if (digits.Length is > 0 and <= 15 && !digits.ContainsAnyExceptInRange((byte)'0', (byte)'9')
            && (digits[0] != (byte)'0' || (digits.Length == 1 && digits.Length == raw.Length)))
        {
            return true;
        }

        Span<char> chars = stackalloc char[EcmaScriptNumber.MaxLength];
        var length = EcmaScriptNumber.Format(value, chars);
        if (length != raw.Length)
        {
            return false;
        }

        for (var i = 0; i < length; i++)
        {
            if (chars[i] != raw[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A key's text, from its canonical escaped form.</summary>
    private static string Decode(ReadOnlySpan<byte> raw, bool escaped)
    {
        if (!escaped)
        {
            return Encoding.UTF8.GetString(raw);
        }

        var bytes = new byte[raw.Length];
        var length = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != (byte)'\\')
            {
                bytes[length++] = raw[i];
                continue;
            }

            bytes[length++] = raw[++i] switch
            {
                (byte)'b' => (byte)'\b',
                (byte)'f' => (byte)'\f',
                (byte)'n' => (byte)'\n',
                (byte)'r' => (byte)'\r',
                (byte)'t' => (byte)'\t',
                (byte)'u' => (byte)(((raw[i + 3] - '0') << 4) | HexValue(raw[i + 4])),
                var other => other,
            };
            if (raw[i] == (byte)'u')
            {
                i += 4;
            }
        }

        return Encoding.UTF8.GetString(bytes, 0, length);
    }
}

/// <summary>Whether an update's text is already <c>JSON.stringify</c>'s, and where its <c>merkleProof</c> and <c>seq</c> values lie in it.</summary>
internal readonly record struct StringifiedUpdate(bool IsStringified, Range MerkleProof, Range Seq);
