using System.Buffers.Binary;
using System.Text;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Security.Noise;

/// <summary>libp2p Noise XX handshake ("/noise"). We send no extensions, so the muxer is negotiated with multistream afterwards.</summary>
public static class NoiseHandshake
{
    public const string ProtocolId = "/noise";
    public const int MaxMessageLength = 65535;
    private static readonly byte[] SigPrefix = Encoding.ASCII.GetBytes("noise-libp2p-static-key:");

    public static async Task<NoiseSession> RunAsync(Stream inner, Ed25519Identity identity, bool initiator, PeerId? expectedRemote, CancellationToken ct)
    {
        using var ss = new SymmetricState();
        using var e = new X25519KeyPair();
        using var s = new X25519KeyPair();
        ss.MixHash(ReadOnlySpan<byte>.Empty); // empty prologue

        var sigInput = new byte[SigPrefix.Length + 32];
        SigPrefix.CopyTo(sigInput, 0);
        s.PublicKey.CopyTo(sigInput, SigPrefix.Length);
        var ourPayload = new NoiseHandshakePayload(identity.PublicKey.ToProtobuf(), identity.Sign(sigInput), []).Encode();

        byte[] re;
        byte[] rs;
        NoiseHandshakePayload remotePayload;
        if (initiator)
        {
            // -> e
            var m1 = new List<byte>(e.PublicKey);
            ss.MixHash(e.PublicKey);
            m1.AddRange(ss.EncryptAndHash(ReadOnlySpan<byte>.Empty));
            await WriteMessageAsync(inner, [.. m1], ct).ConfigureAwait(false);
            // <- e, ee, s, es
            var m2 = await ReadMessageAsync(inner, ct).ConfigureAwait(false);
            if (m2.Length < 32 + 48 + 16)
            {
                throw new NoiseHandshakeException("noise message 2 too short");
            }
            re = m2[..32];
            ss.MixHash(re);
            ss.MixKey(e.Dh(re));
            rs = Decrypt(ss, m2.AsSpan(32, 48));
            ss.MixKey(e.Dh(rs));
            remotePayload = DecodePayload(Decrypt(ss, m2.AsSpan(80)));
            Verify(remotePayload, rs, expectedRemote, out var rkey, out var rpeer);
            // -> s, se
            var sEnc = ss.EncryptAndHash(s.PublicKey);
            ss.MixKey(s.Dh(re));
            var pEnc = ss.EncryptAndHash(ourPayload);
            await WriteMessageAsync(inner, [.. sEnc, .. pEnc], ct).ConfigureAwait(false);
            var (c1, c2) = ss.Split();
            return new NoiseSession(new NoiseSecureStream(inner, c1, c2), rpeer, rkey, remotePayload.StreamMuxers);
        }
        else
        {
            // -> e
            var m1 = await ReadMessageAsync(inner, ct).ConfigureAwait(false);
            if (m1.Length < 32)
            {
                throw new NoiseHandshakeException("noise message 1 too short");
            }
            re = m1[..32];
            ss.MixHash(re);
            ss.DecryptAndHash(m1.AsSpan(32)); // payload (should be empty; no key yet, so plain)
            // <- e, ee, s, es
            ss.MixHash(e.PublicKey);
            ss.MixKey(e.Dh(re));
            var sEnc = ss.EncryptAndHash(s.PublicKey);
            ss.MixKey(s.Dh(re));
            var pEnc = ss.EncryptAndHash(ourPayload);
            await WriteMessageAsync(inner, [.. e.PublicKey, .. sEnc, .. pEnc], ct).ConfigureAwait(false);
            // -> s, se
            var m3 = await ReadMessageAsync(inner, ct).ConfigureAwait(false);
            if (m3.Length < 48 + 16)
            {
                throw new NoiseHandshakeException("noise message 3 too short");
            }
            rs = Decrypt(ss, m3.AsSpan(0, 48));
            ss.MixKey(e.Dh(rs));
            remotePayload = DecodePayload(Decrypt(ss, m3.AsSpan(48)));
            Verify(remotePayload, rs, expectedRemote, out var rkey, out var rpeer);
            var (c1, c2) = ss.Split();
            return new NoiseSession(new NoiseSecureStream(inner, c2, c1), rpeer, rkey, remotePayload.StreamMuxers);
        }
    }

    private static byte[] Decrypt(SymmetricState ss, ReadOnlySpan<byte> ct)
    {
        try
        {
            return ss.DecryptAndHash(ct);
        }
        catch (MalformedDataException ex)
        {
            throw new NoiseHandshakeException("noise handshake decryption failed", ex);
        }
    }

    private static NoiseHandshakePayload DecodePayload(byte[] data)
    {
        try
        {
            return NoiseHandshakePayload.Decode(data);
        }
        catch (MalformedDataException ex)
        {
            throw new NoiseHandshakeException("malformed noise handshake payload: " + ex.Message, ex);
        }
    }

    private static void Verify(NoiseHandshakePayload p, byte[] remoteStatic, PeerId? expected, out Libp2pPublicKey key, out PeerId peer)
    {
        try
        {
            key = Libp2pPublicKey.FromProtobuf(p.IdentityKey);
        }
        catch (MalformedDataException ex)
        {
            throw new NoiseHandshakeException("remote identity key is malformed", ex);
        }
        if (key.Type != KeyType.Ed25519)
        {
            throw new NoiseHandshakeException($"remote identity key type {key.Type} is not supported");
        }
        var msg = new byte[SigPrefix.Length + remoteStatic.Length];
        SigPrefix.CopyTo(msg, 0);
        remoteStatic.CopyTo(msg, SigPrefix.Length);
        if (!key.Verify(msg, p.IdentitySignature))
        {
            throw new NoiseHandshakeException("remote identity signature over the noise static key is invalid");
        }
        peer = key.ToPeerId();
        if (expected is not null && expected != peer)
        {
            throw new NoiseHandshakeException($"dialed {expected} but the remote authenticated as {peer}");
        }
    }

    internal static async Task WriteMessageAsync(Stream s, byte[] msg, CancellationToken ct)
    {
        if (msg.Length > MaxMessageLength)
        {
            throw new LimitExceededException("noise message too long");
        }
        var buf = new byte[2 + msg.Length];
        BinaryPrimitives.WriteUInt16BigEndian(buf, (ushort)msg.Length);
        msg.CopyTo(buf, 2);
        await s.WriteAsync(buf, ct).ConfigureAwait(false);
        await s.FlushAsync(ct).ConfigureAwait(false);
    }

    internal static async Task<byte[]> ReadMessageAsync(Stream s, CancellationToken ct)
    {
        var lenBuf = new byte[2];
        try
        {
            await s.ReadExactlyAsync(lenBuf, ct).ConfigureAwait(false);
            var msg = new byte[BinaryPrimitives.ReadUInt16BigEndian(lenBuf)];
            await s.ReadExactlyAsync(msg, ct).ConfigureAwait(false);
            return msg;
        }
        catch (EndOfStreamException ex)
        {
            throw new NoiseHandshakeException("connection closed during the noise handshake", ex);
        }
    }
}
