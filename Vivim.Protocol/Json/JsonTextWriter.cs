using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vivim.Protocol.Json;

/// <summary>
/// The one JSON writer behind RFC 8785, <c>JSON.stringify</c> reproduction and the v1 signing input: they share
/// string escaping and number formatting and differ only in key order and in what they refuse.
/// </summary>
internal sealed class JsonTextWriter
{
    private static readonly byte[] HexDigits = "0123456789abcdef"u8.ToArray();

    /// <summary>The characters below U+D800 that QuoteJSONString escapes: controls, quote and backslash.</summary>
    private static readonly SearchValues<char> MustEscape = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000A\u000B\u000C\u000D\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\"\\");

    private readonly ArrayBufferWriter<byte> _output;
    private readonly bool _canonical;
    private readonly IReadOnlyList<string>? _replacerKeys;
    private readonly JsonLimits _limits;
    private readonly IReadOnlyCollection<string>? _excludedTopLevelKeys;
    private readonly int _indent;
    private string? _capturedKey;
    private string? _writtenKey;
    private string? _writtenText;
    private int _capturedStart = -1;
    private int _capturedEnd = -1;

    private JsonTextWriter(bool canonical, IReadOnlyList<string>? replacerKeys, JsonLimits limits, int initialCapacity, IReadOnlyCollection<string>? excludedTopLevelKeys = null, int indent = 0)
    {
        _indent = indent;
        _canonical = canonical;
        _excludedTopLevelKeys = excludedTopLevelKeys;
        _replacerKeys = replacerKeys;
        _limits = limits;
        _output = t_spare ?? new ArrayBufferWriter<byte>(Math.Max(256, initialCapacity));
        t_spare = null;
        _output.ResetWrittenCount();
    }

    /// <summary>
    /// The thread's last output buffer, kept for its next writer: every update is written several times (signing
    /// bytes, document hash, stored text), and growing a fresh buffer each time was a good part of ingest's garbage.
    /// </summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_spare;

    /// <summary>Buffers that grew past this (snapshots) are left to the GC rather than kept per thread.</summary>
    private const int MaxSpareCapacity = 64 * 1024;

    /// <summary>Copies the written bytes out and keeps the buffer for the thread's next writer; the output is not to be used after.</summary>
    public static byte[] ToArrayAndRelease(ArrayBufferWriter<byte> output)
    {
        var bytes = output.WrittenSpan.ToArray();
        Release(output);
        return bytes;
    }

    /// <summary>Decodes the written UTF-8 and keeps the buffer for the thread's next writer; the output is not to be used after.</summary>
    public static string ToStringAndRelease(ArrayBufferWriter<byte> output)
    {
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        Release(output);
        return text;
    }

    /// <summary>Hands an output buffer back once its bytes have been copied out.</summary>
    public static void Release(ArrayBufferWriter<byte> output)
    {
        if (output.Capacity <= MaxSpareCapacity)
        {
            t_spare = output;
        }
    }

    /// <summary>RFC 8785: keys sorted by UTF-16 code units; lone surrogates and non-finite numbers refused.</summary>
    /// <param name="excludedTopLevelKeys">Members of the top-level object to leave out (a signature and what it cannot cover).</param>
    public static ArrayBufferWriter<byte> Canonical(JsonNode? value, JsonLimits limits, int sizeHint = 256, IReadOnlyCollection<string>? excludedTopLevelKeys = null)
    {
        var writer = new JsonTextWriter(canonical: true, replacerKeys: null, limits, sizeHint, excludedTopLevelKeys);
        writer.WriteValue(value, 1);
        return writer._output;
    }

    /// <summary>
    /// As <see cref="Canonical"/>, and where in the output the value of the top-level member
    /// <paramref name="capturedKey"/> was written (an empty range when absent). That value's canonical form is the
    /// slice itself, so a document inside a signed object need not be canonicalized a second time.
    /// </summary>
    public static ArrayBufferWriter<byte> Canonical(JsonObject value, JsonLimits limits, IReadOnlyCollection<string>? excludedTopLevelKeys, string capturedKey, out Range captured)
    {
        var writer = new JsonTextWriter(canonical: true, replacerKeys: null, limits, 256, excludedTopLevelKeys) { _capturedKey = capturedKey };
        writer.WriteValue(value, 1);
        captured = writer._capturedStart < 0 ? default : writer._capturedStart..writer._capturedEnd;
        return writer._output;
    }

    /// <summary>
    /// <c>JSON.stringify(value)</c>, or <c>JSON.stringify(value, replacerKeys)</c> when an array replacer is given:
    /// then every object shows only those keys, in the replacer's order.
    /// </summary>
    /// <param name="indent">Spaces per level, as the <c>space</c> argument of <c>JSON.stringify</c> (0: none).</param>
    public static ArrayBufferWriter<byte> JavaScript(JsonNode? value, JsonLimits limits, IReadOnlyList<string>? replacerKeys = null, int sizeHint = 256, int indent = 0)
    {
        var writer = new JsonTextWriter(canonical: false, replacerKeys, limits, sizeHint, indent: Math.Clamp(indent, 0, 10));
        writer.WriteValue(value, 1);
        return writer._output;
    }

    /// <summary>
    /// As <see cref="JavaScript"/> for an object whose top-level member <paramref name="key"/> already has its
    /// <c>JSON.stringify</c> text, <paramref name="text"/>: that text is copied in rather than the member written again.
    /// </summary>
    public static ArrayBufferWriter<byte> JavaScript(JsonObject value, JsonLimits limits, string key, string text)
    {
        var writer = new JsonTextWriter(canonical: false, replacerKeys: null, limits, 256) { _writtenKey = key, _writtenText = text };
        writer.WriteValue(value, 1);
        return writer._output;
    }

    private void WriteValue(JsonNode? node, int depth)
    {
        switch (node)
        {
            case null:
                WriteRaw("null"u8);
                break;
            case JsonObject obj:
                WriteObject(obj, depth);
                break;
            case JsonArray array:
                WriteArray(array, depth);
                break;
            case JsonValue value:
                WritePrimitive(value);
                break;
            default:
                throw new JsonFormatException(JsonFormatException.UnsupportedValue, $"Unsupported JSON node {node.GetType().Name}.");
        }

        if (_output.WrittenCount > _limits.MaxBytes)
        {
            throw new JsonFormatException(JsonFormatException.TooLarge, $"JSON text exceeds {_limits.MaxBytes} bytes.");
        }
    }

    private void CheckDepth(int depth)
    {
        if (depth > _limits.MaxDepth)
        {
            throw new JsonFormatException(JsonFormatException.TooDeep, $"JSON nesting exceeds {_limits.MaxDepth} levels.");
        }
    }

    private void WriteObject(JsonObject obj, int depth)
    {
        CheckDepth(depth);
        WriteByte((byte)'{');
        var first = true;
        if (_replacerKeys is not null)
        {
            foreach (var key in _replacerKeys)
            {
                if (obj.TryGetPropertyValue(key, out var child))
                {
                    WriteMember(key, child, depth, ref first);
                }
            }
        }
        else if (_canonical)
        {
            var excluded = depth == 1 ? _excludedTopLevelKeys : null;
            var keys = new List<string>(obj.Count);
            foreach (var pair in obj)
            {
                if (excluded is null || !excluded.Contains(pair.Key))
                {
                    keys.Add(pair.Key);
                }
            }

            // Ordinal string comparison in .NET is by UTF-16 code unit, which is exactly RFC 8785 §3.2.3.
            keys.Sort(string.CompareOrdinal);
            foreach (var key in keys)
            {
                WriteMember(key, obj[key], depth, ref first);
            }
        }
        else
        {
            WriteJavaScriptOrder(obj, depth, ref first);
        }

        if (!first)
        {
            WriteNewLine(depth - 1);
        }

        WriteByte((byte)'}');
    }

    /// <summary>ECMAScript OrdinaryOwnPropertyKeys: array-index keys ascending, then the rest in insertion order.</summary>
    private void WriteJavaScriptOrder(JsonObject obj, int depth, ref bool first)
    {
        List<(uint Index, string Key)>? indexKeys = null;
        foreach (var pair in obj)
        {
            if (JavaScriptJson.TryParseArrayIndex(pair.Key, out var index))
            {
                (indexKeys ??= []).Add((index, pair.Key));
            }
        }

        if (indexKeys is not null)
        {
            indexKeys.Sort(static (a, b) => a.Index.CompareTo(b.Index));
            foreach (var (_, key) in indexKeys)
            {
                WriteMember(key, obj[key], depth, ref first);
            }
        }

        foreach (var pair in obj)
        {
            if (indexKeys is null || !JavaScriptJson.TryParseArrayIndex(pair.Key, out _))
            {
                WriteMember(pair.Key, pair.Value, depth, ref first);
            }
        }
    }

    private void WriteMember(string key, JsonNode? value, int depth, ref bool first)
    {
        if (!first)
        {
            WriteByte((byte)',');
        }

        first = false;
        WriteNewLine(depth);
        WriteString(key);
        WriteByte((byte)':');
        if (_indent > 0)
        {
            WriteByte((byte)' ');
        }

        if (depth == 1 && _writtenKey is not null && string.Equals(key, _writtenKey, StringComparison.Ordinal))
        {
            var text = _writtenText!;
            var written = Encoding.UTF8.GetBytes(text, _output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length)));
            _output.Advance(written);
            return;
        }

        if (depth == 1 && _capturedKey is not null && string.Equals(key, _capturedKey, StringComparison.Ordinal))
        {
            _capturedStart = _output.WrittenCount;
            WriteValue(value, depth + 1);
            _capturedEnd = _output.WrittenCount;
            return;
        }

        WriteValue(value, depth + 1);
    }

    private void WriteArray(JsonArray array, int depth)
    {
        CheckDepth(depth);
        WriteByte((byte)'[');
        for (var i = 0; i < array.Count; i++)
        {
            if (i > 0)
            {
                WriteByte((byte)',');
            }

            WriteNewLine(depth);
            WriteValue(array[i], depth + 1);
        }

        if (array.Count > 0)
        {
            WriteNewLine(depth - 1);
        }

        WriteByte((byte)']');
    }

    private void WritePrimitive(JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                WriteString(value.GetValue<string>());
                break;
            case JsonValueKind.True:
                WriteRaw("true"u8);
                break;
            case JsonValueKind.False:
                WriteRaw("false"u8);
                break;
            case JsonValueKind.Null:
                WriteRaw("null"u8);
                break;
            case JsonValueKind.Number:
                WriteNumber(JavaScriptJson.ToDouble(value));
                break;
            default:
                throw new JsonFormatException(JsonFormatException.UnsupportedValue, $"Unsupported JSON value kind {value.GetValueKind()}.");
        }
    }

    private void WriteNumber(double number)
    {
        if (!double.IsFinite(number))
        {
            if (_canonical)
            {
                throw new JsonFormatException(JsonFormatException.NumberOutOfRange, "RFC 8785 cannot represent NaN or infinities.");
            }

            WriteRaw("null"u8); // what JSON.stringify does
            return;
        }

        Span<char> chars = stackalloc char[EcmaScriptNumber.MaxLength];
        var length = EcmaScriptNumber.Format(number, chars);
        var span = _output.GetSpan(length);
        for (var i = 0; i < length; i++)
        {
            span[i] = (byte)chars[i];
        }

        _output.Advance(length);
    }

    /// <summary>ECMAScript QuoteJSONString (ES2019 well-formed JSON.stringify), which RFC 8785 adopts unchanged.</summary>
    private void WriteString(string text)
    {
        WriteByte((byte)'"');

        // Most strings need no escape and hold no surrogate: two vectorized scans then write them in one piece.
        var chars = text.AsSpan();
        if (chars.IndexOfAny(MustEscape) < 0 && chars.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            WriteUtf8(chars);
            WriteByte((byte)'"');
            return;
        }

        var runStart = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c >= 0x20 && c != '"' && c != '\\' && !char.IsSurrogate(c))
            {
                continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++; // a well-formed pair is written as UTF-8 with the surrounding run
                continue;
            }

            WriteUtf8(text.AsSpan(runStart, i - runStart));
            runStart = i + 1;
            switch (c)
            {
                case '"': WriteRaw("\\\""u8); break;
                case '\\': WriteRaw("\\\\"u8); break;
                case '\b': WriteRaw("\\b"u8); break;
                case '\f': WriteRaw("\\f"u8); break;
                case '\n': WriteRaw("\\n"u8); break;
                case '\r': WriteRaw("\\r"u8); break;
                case '\t': WriteRaw("\\t"u8); break;
                default:
                    if (char.IsSurrogate(c) && _canonical)
                    {
                        throw new JsonFormatException(JsonFormatException.LoneSurrogate, $"String has a lone surrogate U+{(int)c:X4} at index {i}; RFC 8785 cannot encode it.");
                    }

                    WriteUnicodeEscape(c);
                    break;
            }
        }

        WriteUtf8(text.AsSpan(runStart));
        WriteByte((byte)'"');
    }

    private void WriteUnicodeEscape(char c)
    {
        var span = _output.GetSpan(6);
        span[0] = (byte)'\\';
        span[1] = (byte)'u';
        span[2] = HexDigits[(c >> 12) & 0xF];
        span[3] = HexDigits[(c >> 8) & 0xF];
        span[4] = HexDigits[(c >> 4) & 0xF];
        span[5] = HexDigits[c & 0xF];
        _output.Advance(6);
    }

    private void WriteUtf8(ReadOnlySpan<char> chars)
    {
        if (chars.IsEmpty)
        {
            return;
        }

        var span = _output.GetSpan(Encoding.UTF8.GetMaxByteCount(chars.Length));
        _output.Advance(Encoding.UTF8.GetBytes(chars, span));
    }

    /// <summary>With indentation on: a line break, then <paramref name="level"/> indents.</summary>
    private void WriteNewLine(int level)
    {
        if (_indent == 0)
        {
            return;
        }

        var count = 1 + (level * _indent);
        var span = _output.GetSpan(count);
        span[0] = (byte)'\n';
        span[1..count].Fill((byte)' ');
        _output.Advance(count);
    }

    private void WriteRaw(ReadOnlySpan<byte> bytes) => _output.Write(bytes);

    private void WriteByte(byte b)
    {
        _output.GetSpan(1)[0] = b;
        _output.Advance(1);
    }
}
