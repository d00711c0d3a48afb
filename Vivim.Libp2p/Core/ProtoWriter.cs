using System.Text;

namespace Vivim.Libp2p.Core;

/// <summary>Minimal protobuf writer (deterministic: callers write fields in tag order).</summary>
public sealed class ProtoWriter
{
    private readonly MemoryStream _ms = new();

    public ProtoWriter WriteVarintField(int field, ulong value)
    {
        WriteRawVarint((ulong)(field << 3));
        WriteRawVarint(value);
        return this;
    }

    public ProtoWriter WriteBytesField(int field, ReadOnlySpan<byte> value)
    {
        WriteRawVarint((ulong)((field << 3) | 2));
        WriteRawVarint((ulong)value.Length);
        _ms.Write(value);
        return this;
    }

    public ProtoWriter WriteStringField(int field, string value) => WriteBytesField(field, Encoding.UTF8.GetBytes(value));

    private void WriteRawVarint(ulong v)
    {
        while (v >= 0x80)
        {
            _ms.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }
        _ms.WriteByte((byte)v);
    }

    public byte[] ToArray() => _ms.ToArray();
}
