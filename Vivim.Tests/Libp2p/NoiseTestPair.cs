using System.Buffers.Binary;
using Vivim.Libp2p.Security.Noise;

namespace Vivim.Tests.Libp2p;

/// <summary>Builds NoiseSecureStreams over in-memory bytes with a shared key, for decoder tests.</summary>
internal static class NoiseTestPair
{
    private static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    private static CipherState NewCipher()
    {
        var c = new CipherState();
        c.InitializeKey(Key);
        return c;
    }

    public static NoiseSecureStream ReceiverOver(byte[] wire) => new(new MemoryStream(wire), NewCipher(), NewCipher());

    /// <summary>Returns an encoder (plaintext → framed ciphertext, nonces in order) and a decoder factory over given bytes.</summary>
    public static (Func<byte[], byte[]> Encode, Func<byte[], NoiseSecureStream> Decoder) Create()
    {
        var send = NewCipher();
        return (pt =>
        {
            var frame = new byte[2 + pt.Length + 16];
            var n = send.EncryptWithAd(ReadOnlySpan<byte>.Empty, pt, frame.AsSpan(2));
            BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)n);
            return frame;
        }, ReceiverOver);
    }
}
