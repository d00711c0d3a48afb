using System.Buffers;

namespace Vivim.Libp2p.Core;

/// <summary>
/// Multiformats unsigned varint (LEB128): at most 9 bytes (63 bits), minimal encoding required.
/// </summary>
public static class Varint
{
    /// <summary>Maximum encoded size per the multiformats spec.</summary>
    public const int MaxLength = 9;

    public static int GetSize(ulong value)
    {
        var n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }
        return n;
    }

    /// <summary>Writes <paramref name="value"/> and returns the number of bytes written.</summary>
    public static int Write(Span<byte> destination, ulong value)
    {
        if (value > long.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "multiformats varints carry at most 63 bits");
        }
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    public static byte[] Encode(ulong value)
    {
        var buf = new byte[GetSize(value)];
        Write(buf, value);
        return buf;
    }

    public static void Write(IBufferWriter<byte> writer, ulong value)
    {
        var span = writer.GetSpan(MaxLength);
        writer.Advance(Write(span, value));
    }

    /// <summary>
    /// Tries to decode. Returns false when the input is truncated (more bytes needed);
    /// throws <see cref="MalformedDataException"/> for overlong, non-minimal or over-9-byte encodings.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out ulong value, out int bytesRead)
    {
        value = 0;
        bytesRead = 0;
        var shift = 0;
        for (var i = 0; i < source.Length; i++)
        {
            if (i >= MaxLength)
            {
                throw new MalformedDataException("varint longer than 9 bytes");
            }
            var b = source[i];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                if (b == 0 && i > 0)
                {
                    throw new MalformedDataException("varint is not minimally encoded");
                }
                bytesRead = i + 1;
                return true;
            }
            shift += 7;
        }
        if (source.Length >= MaxLength)
        {
            throw new MalformedDataException("varint longer than 9 bytes");
        }
        value = 0;
        return false;
    }

    /// <summary>Decodes a complete varint or throws <see cref="MalformedDataException"/> (including on truncation).</summary>
    public static ulong Read(ReadOnlySpan<byte> source, out int bytesRead)
    {
        if (!TryRead(source, out var value, out bytesRead))
        {
            throw new MalformedDataException("truncated varint");
        }
        return value;
    }

    /// <summary>Reads a varint from a stream one byte at a time (never over-reads). Returns null on clean EOF before the first byte.</summary>
    public static async ValueTask<ulong?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buf = new byte[1];
        ulong value = 0;
        var shift = 0;
        for (var i = 0; i < MaxLength; i++)
        {
            var n = await stream.ReadAsync(buf.AsMemory(0, 1), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (i == 0)
                {
                    return null;
                }
                throw new MalformedDataException("truncated varint (end of stream)");
            }
            var b = buf[0];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                if (b == 0 && i > 0)
                {
                    throw new MalformedDataException("varint is not minimally encoded");
                }
                return value;
            }
            shift += 7;
        }
        throw new MalformedDataException("varint longer than 9 bytes");
    }

    /// <summary>Reads one uvarint-length-prefixed message of at most <paramref name="maxLength"/> bytes. Null on clean EOF.</summary>
    public static async ValueTask<byte[]?> ReadLengthPrefixedAsync(Stream stream, int maxLength, CancellationToken cancellationToken)
    {
        var len = await ReadAsync(stream, cancellationToken).ConfigureAwait(false);
        if (len is null)
        {
            return null;
        }
        if (len.Value > (ulong)maxLength)
        {
            throw new LimitExceededException($"length-prefixed message of {len.Value} bytes exceeds limit {maxLength}");
        }
        var data = new byte[(int)len.Value];
        try
        {
            await stream.ReadExactlyAsync(data, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException e)
        {
            throw new MalformedDataException("truncated length-prefixed message", e);
        }
        return data;
    }

    public static async ValueTask WriteLengthPrefixedAsync(Stream stream, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var buf = new byte[GetSize((ulong)payload.Length) + payload.Length];
        var n = Write(buf, (ulong)payload.Length);
        payload.Span.CopyTo(buf.AsSpan(n));
        await stream.WriteAsync(buf, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
