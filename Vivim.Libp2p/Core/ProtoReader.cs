using System.Text;

namespace Vivim.Libp2p.Core;

/// <summary>Minimal protobuf wire-format reader over a span with strict bounds; throws <see cref="MalformedDataException"/>.</summary>
public ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public ProtoReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public readonly bool End => _pos >= _data.Length;

    /// <summary>Reads the next tag; returns false at end of input.</summary>
    public bool TryReadTag(out int field, out int wireType)
    {
        field = 0;
        wireType = 0;
        if (End)
        {
            return false;
        }
        var tag = ReadVarint();
        if (tag > int.MaxValue)
        {
            throw new MalformedDataException("protobuf tag out of range");
        }
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        if (field == 0)
        {
            throw new MalformedDataException("protobuf field number 0");
        }
        return true;
    }

    public ulong ReadVarint()
    {
        // Protobuf varints may be up to 10 bytes; we accept at most 10 and tolerate non-minimal forms.
        ulong value = 0;
        for (var i = 0; i < 10; i++)
        {
            if (_pos >= _data.Length)
            {
                throw new MalformedDataException("truncated protobuf varint");
            }
            var b = _data[_pos++];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
        throw new MalformedDataException("protobuf varint too long");
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        var len = ReadVarint();
        if (len > (ulong)(_data.Length - _pos))
        {
            throw new MalformedDataException("protobuf length-delimited field exceeds message");
        }
        var s = _data.Slice(_pos, (int)len);
        _pos += (int)len;
        return s;
    }

    public string ReadString()
    {
        var bytes = ReadBytes();
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new MalformedDataException("invalid UTF-8 in protobuf string", e);
        }
    }

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0:
                ReadVarint();
                break;
            case 1:
                Advance(8);
                break;
            case 2:
                ReadBytes();
                break;
            case 5:
                Advance(4);
                break;
            default:
                throw new MalformedDataException($"unsupported protobuf wire type {wireType}");
        }
    }

    public static void Expect(int wireType, int expected, int field)
    {
        if (wireType != expected)
        {
            throw new MalformedDataException($"protobuf field {field} has wire type {wireType}, expected {expected}");
        }
    }

    private void Advance(int n)
    {
        if (n > _data.Length - _pos)
        {
            throw new MalformedDataException("truncated protobuf fixed field");
        }
        _pos += n;
    }

    internal static readonly UTF8Encoding StrictUtf8 = new(false, true);
}
