using System.Globalization;
using System.Text;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Kad;

/// <summary>The DHT Record protobuf: key = 1, value = 2, timeReceived = 5 (RFC 3339 with 9 fraction digits, UTC).</summary>
public sealed record KadRecord(byte[] Key, byte[] Value, DateTimeOffset? TimeReceived = null)
{
    public const int MaxValueLength = 64 * 1024;

    public byte[] Encode()
    {
        var w = new ProtoWriter().WriteBytesField(1, Key).WriteBytesField(2, Value);
        if (TimeReceived is { } t)
        {
            w.WriteStringField(5, FormatTime(t));
        }
        return w.ToArray();
    }

    public static string FormatTime(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + "." + (t.UtcDateTime.Millisecond * 1_000_000).ToString("D9", CultureInfo.InvariantCulture) + "Z";

    public static KadRecord Decode(ReadOnlySpan<byte> data)
    {
        var r = new ProtoReader(data);
        byte[]? key = null;
        byte[]? value = null;
        DateTimeOffset? time = null;
        while (r.TryReadTag(out var f, out var wt))
        {
            switch (f)
            {
                case 1: ProtoReader.Expect(wt, 2, f); key = r.ReadBytes().ToArray(); break;
                case 2:
                    ProtoReader.Expect(wt, 2, f);
                    var v = r.ReadBytes();
                    if (v.Length > MaxValueLength)
                    {
                        throw new LimitExceededException("kad record value too large");
                    }
                    value = v.ToArray();
                    break;
                case 5:
                    ProtoReader.Expect(wt, 2, f);
                    var s = r.ReadString();
                    if (s.Length > 64)
                    {
                        throw new MalformedDataException("kad record time too long");
                    }
                    // fractions up to 9 digits: keep 7 for DateTimeOffset
                    var dot = s.IndexOf('.', StringComparison.Ordinal);
                    var norm = dot > 0 && s.EndsWith('Z') ? s[..Math.Min(s.Length - 1, dot + 8)] + "Z" : s;
                    if (DateTimeOffset.TryParse(norm, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t))
                    {
                        time = t;
                    }
                    break;
                default: r.Skip(wt); break;
            }
        }
        return new KadRecord(key ?? throw new MalformedDataException("kad record without key"), value ?? [], time);
    }

    /// <summary>The namespace of a "/ns/rest" key, or null.</summary>
    public static string? Namespace(ReadOnlySpan<byte> key)
    {
        if (key.Length < 3 || key[0] != '/')
        {
            return null;
        }
        var end = key[1..].IndexOf((byte)'/');
        return end <= 0 ? null : Encoding.UTF8.GetString(key.Slice(1, end));
    }
}
