using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vivim.Protocol.Merkle;

/// <summary>A 256-bit key as four big-endian words, so that bit tests and prefix comparisons are word operations.</summary>
[InlineArray(4)]
internal struct Key256
{
    private ulong _word;

    public static Key256 Read(ReadOnlySpan<byte> bytes)
    {
        var k = default(Key256);
        k[0] = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        k[1] = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        k[2] = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        k[3] = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
        return k;
    }

    public readonly void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, this[0]);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], this[1]);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], this[2]);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], this[3]);
    }

    /// <summary>Bit <paramref name="index"/>, most significant bit of byte 0 first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int Bit(int index) => (int)(this[index >> 6] >> (63 - (index & 63))) & 1;

    /// <summary>Index of the first bit where the keys differ, or 256 if they are equal.</summary>
    public static int FirstDifference(in Key256 a, in Key256 b)
    {
        for (int w = 0; w < 4; w++)
        {
            ulong x = a[w] ^ b[w];
            if (x != 0)
            {
                return (w << 6) + BitOperations.LeadingZeroCount(x);
            }
        }

        return 256;
    }

    public static int Compare(in Key256 a, in Key256 b)
    {
        for (int w = 0; w < 4; w++)
        {
            if (a[w] != b[w])
            {
                return a[w] < b[w] ? -1 : 1;
            }
        }

        return 0;
    }
}

/// <summary>32 bytes stored inline (a hash or a value) so that nodes hold no per-node arrays.</summary>
[InlineArray(32)]
internal struct Bytes32
{
    private byte _byte;
}
