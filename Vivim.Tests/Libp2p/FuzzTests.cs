using System.Buffers.Binary;
using CsCheck;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Multistream;
using Vivim.Libp2p.Muxing.Yamux;
using Vivim.Libp2p.Protocols.Identify;
using Vivim.Libp2p.Security.Noise;
using LimitExceededException = Vivim.Libp2p.Core.LimitExceededException;

namespace Vivim.Tests.Libp2p;

/// <summary>Property/fuzz tests: every decoder either succeeds or throws its typed exception; round trips hold.</summary>
public class FuzzTests
{
    private static readonly Gen<byte[]> Bytes = Gen.Byte.Array[0, 300];

    private static void OnlyTyped(Action a)
    {
        try
        {
            a();
        }
        catch (MalformedDataException)
        {
        }
        catch (LimitExceededException)
        {
        }
    }

    [Fact]
    public void Varint_RoundTripsAllValues() =>
        Gen.ULong[0, long.MaxValue].Sample(v =>
        {
            var enc = Varint.Encode(v);
            Assert.True(enc.Length <= 9);
            Assert.Equal(v, Varint.Read(enc, out var n));
            Assert.Equal(enc.Length, n);
            // every strict prefix is "need more", never a wrong value
            for (var i = 0; i < enc.Length; i++)
            {
                Assert.False(Varint.TryRead(enc.AsSpan(0, i), out _, out _));
            }
        }, iter: 5000);

    [Fact]
    public void Varint_RandomBytesNeverCrash() =>
        Bytes.Sample(b => OnlyTyped(() =>
        {
            if (Varint.TryRead(b, out var v, out var n))
            {
                Assert.InRange(n, 1, 9);
                Assert.Equal(Varint.Encode(v), b[..n]); // minimal => canonical
            }
        }), iter: 5000);

    [Fact]
    public async Task Varint_StreamReaderHandlesTruncationAndLimits()
    {
        Assert.Null(await Varint.ReadAsync(new MemoryStream(), CancellationToken.None));
        await Assert.ThrowsAsync<MalformedDataException>(async () => await Varint.ReadAsync(new MemoryStream([0x80]), CancellationToken.None));
        await Assert.ThrowsAsync<MalformedDataException>(async () => await Varint.ReadAsync(new MemoryStream(Convert.FromHexString("80808080808080808001")), CancellationToken.None));
        await Assert.ThrowsAsync<LimitExceededException>(async () => await Varint.ReadLengthPrefixedAsync(new MemoryStream(Convert.FromHexString("8008")), 100, CancellationToken.None));
        await Assert.ThrowsAsync<MalformedDataException>(async () => await Varint.ReadLengthPrefixedAsync(new MemoryStream([5, 1, 2]), 100, CancellationToken.None));
    }

    private static readonly Gen<string> MultiaddrText = Gen.OneOf(
        Gen.Select(Gen.Byte.Array[4], Gen.UShort, (ip, port) => $"/ip4/{new System.Net.IPAddress(ip)}/tcp/{port}"),
        Gen.Select(Gen.Byte.Array[16], Gen.UShort, (ip, port) => $"/ip6/{new System.Net.IPAddress(ip)}/udp/{port}/quic-v1"),
        Gen.Select(Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789.-"], 1, 40], Gen.UShort, (h, port) => $"/dns4/{h}/tcp/{port}/ws"),
        Gen.Select(Gen.Byte.Array[32], Gen.UShort, (seed, port) =>
        {
            using var id = Ed25519Identity.FromSeed(seed);
            return $"/ip4/10.0.0.1/tcp/{port}/p2p/{id.PeerId}";
        }));

    [Fact]
    public void Multiaddr_TextBinaryRoundTrip() =>
        MultiaddrText.Sample(t =>
        {
            var ma = Multiaddr.Parse(t);
            var back = Multiaddr.FromBytes(ma.Bytes);
            Assert.Equal(ma, back);
            Assert.Equal(ma.ToString(), back.ToString());
            Assert.Equal(ma, Multiaddr.Parse(ma.ToString()));
        }, iter: 500);

    [Fact]
    public void Multiaddr_RandomBytesAndTextNeverCrash()
    {
        Bytes.Sample(b => OnlyTyped(() =>
        {
            var ma = Multiaddr.FromBytes(b);
            Assert.Equal(ma, Multiaddr.FromBytes(ma.Bytes));
            _ = ma.ToString();
        }), iter: 5000);
        Gen.String[Gen.Char["/ip46tcpud0123456789.:abcfp2ws-"], 0, 60].Sample(s => OnlyTyped(() =>
        {
            var ma = Multiaddr.Parse(s);
            Assert.Equal(ma, Multiaddr.Parse(ma.ToString()));
        }), iter: 5000);
        // mutations of valid encodings
        MultiaddrText.Select(Gen.Int[0, 1000], Gen.Byte).Sample((t, pos, val) => OnlyTyped(() =>
        {
            var b = Multiaddr.Parse(t).ToBytes();
            b[pos % b.Length] = val;
            Multiaddr.FromBytes(b);
        }), iter: 2000);
        Assert.Throws<MalformedDataException>(() => Multiaddr.FromBytes(new byte[Multiaddr.MaxBinaryLength + 1]));
    }

    [Fact]
    public void PeerId_RandomBytesAndTextNeverCrash()
    {
        Bytes.Sample(b => OnlyTyped(() => PeerId.FromBytes(b)), iter: 5000);
        Gen.String.Sample(s => OnlyTyped(() => PeerId.Parse(s)), iter: 5000);
        Gen.String[Gen.Char["123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"], 1, 60].Sample(s => OnlyTyped(() => PeerId.Parse(s)), iter: 5000);
    }

    [Fact]
    public void PublicKeyAndIdentifyProtobufs_RandomBytesNeverCrash()
    {
        Bytes.Sample(b => OnlyTyped(() => Libp2pPublicKey.FromProtobuf(b)), iter: 5000);
        Bytes.Sample(b => OnlyTyped(() => IdentifyMessage.Decode(b)), iter: 5000);
        Assert.Throws<MalformedDataException>(() => IdentifyMessage.Decode(new byte[IdentifyMessage.MaxMessageLength + 1]));
    }

    [Fact]
    public void IdentifyMessage_RoundTripAndValidation()
    {
        using var id = Ed25519Identity.Generate();
        using var other = Ed25519Identity.Generate();
        Gen.Select(Gen.String[0, 40], Gen.String[Gen.Char["/abcdefgh0123456789."], 1, 30].Array[0, 20], Gen.Byte.Array[4].Array[0, 5]).Sample((agent, protos, ips) =>
        {
            var m = new IdentifyMessage { AgentVersion = agent, ProtocolVersion = "ipfs/0.1.0", PublicKey = id.PublicKey.ToProtobuf(), ObservedAddr = Multiaddr.Parse("/ip4/1.2.3.4/tcp/5").ToBytes() };
            m.Protocols.AddRange(protos);
            foreach (var ip in ips)
            {
                m.ListenAddrs.Add(Multiaddr.Parse($"/ip4/{new System.Net.IPAddress(ip)}/tcp/1").ToBytes());
            }
            var d = IdentifyMessage.Decode(m.Encode());
            Assert.Equal(agent, d.AgentVersion);
            Assert.Equal(protos, d.Protocols);
            var info = IdentifyInfo.FromMessage(d, id.PeerId);
            Assert.Equal(ips.Length, info.ListenAddresses.Count);
            // a key that does not belong to the connection's peer is rejected
            Assert.Throws<MalformedDataException>(() => IdentifyInfo.FromMessage(d, other.PeerId));
        }, iter: 200);
        // too many protocols
        var big = new IdentifyMessage();
        for (var i = 0; i <= IdentifyMessage.MaxProtocols; i++)
        {
            big.Protocols.Add("/p");
        }
        Assert.Throws<MalformedDataException>(() => IdentifyMessage.Decode(big.Encode()));
    }

    [Fact]
    public void Multistream_DecoderProperties()
    {
        Gen.String[1, 200].Sample(s =>
        {
            if (s.Contains('\n'))
            {
                return;
            }
            var enc = MultistreamSelect.EncodeMessage(s);
            Assert.Equal(s, MultistreamSelect.DecodeMessage(enc, out var n));
            Assert.Equal(enc.Length, n);
            for (var i = 0; i < enc.Length; i++)
            {
                Assert.ThrowsAny<Libp2pException>(() => MultistreamSelect.DecodeMessage(enc.AsSpan(0, i), out _)); // truncated
            }
        }, iter: 1000);
        Bytes.Sample(b => OnlyTyped(() => MultistreamSelect.DecodeMessage(b, out _)), iter: 5000);
        // missing newline
        Assert.Throws<MalformedDataException>(() => MultistreamSelect.DecodeMessage([2, (byte)'n', (byte)'a'], out _));
        // embedded newline
        Assert.Throws<MalformedDataException>(() => MultistreamSelect.DecodeMessage([3, (byte)'\n', (byte)'a', (byte)'\n'], out _));
        // over-long (1025 bytes)
        var longMsg = new byte[2 + 1025];
        Varint.Write(longMsg, 1025);
        Assert.Throws<LimitExceededException>(() => MultistreamSelect.DecodeMessage(longMsg, out _));
        Assert.Throws<LimitExceededException>(() => MultistreamSelect.EncodeMessage(new string('a', 1024)));
        // invalid UTF-8
        Assert.Throws<MalformedDataException>(() => MultistreamSelect.DecodeMessage([3, 0xff, 0xfe, (byte)'\n'], out _));
    }

    [Fact]
    public void NoiseHandshakePayload_RoundTripAndRandomBytes()
    {
        using var id = Ed25519Identity.Generate();
        var p = new NoiseHandshakePayload(id.PublicKey.ToProtobuf(), new byte[64], ["/yamux/1.0.0"]);
        var d = NoiseHandshakePayload.Decode(p.Encode());
        Assert.Equal(p.IdentityKey, d.IdentityKey);
        Assert.Equal(["/yamux/1.0.0"], d.StreamMuxers);
        Bytes.Sample(b => OnlyTyped(() => NoiseHandshakePayload.Decode(b)), iter: 5000);
        Assert.Throws<MalformedDataException>(() => NoiseHandshakePayload.Decode(new ProtoWriter().WriteBytesField(1, [1]).ToArray())); // no signature
    }

    [Fact]
    public async Task NoiseTransportFrames_GarbageIsRejectedNotCrashing()
    {
        // a secure stream over random frames must fail authentication with MalformedDataException
        await Gen.Byte.Array[0, 600].SampleAsync(async b =>
        {
            var s = NoiseTestPair.ReceiverOver(b);
            try
            {
                var buf = new byte[1024];
                while (await s.ReadAsync(buf) > 0)
                {
                }
            }
            catch (MalformedDataException)
            {
            }
        }, iter: 1000);
        // a well-formed length with a tampered ciphertext
        var (enc, dec) = NoiseTestPair.Create();
        var frame = enc("hello"u8.ToArray());
        frame[^1] ^= 1;
        await Assert.ThrowsAsync<MalformedDataException>(async () => await dec(frame).ReadAtLeastAsync(new byte[10], 1));
        // a valid frame with an empty payload is not end of stream
        var (enc2, dec2) = NoiseTestPair.Create();
        var twoFrames = enc2([]).Concat(enc2("x"u8.ToArray())).ToArray();
        var buf2 = new byte[4];
        Assert.Equal(1, await dec2(twoFrames).ReadAsync(buf2));
        Assert.Equal((byte)'x', buf2[0]);
    }

    [Fact]
    public void YamuxHeader_ParseProperties()
    {
        Gen.Select(Gen.Byte[0, 3], Gen.UShort[0, 15], Gen.UInt, Gen.UInt).Sample((t, f, id, len) =>
        {
            var h = new YamuxHeader((YamuxFrameType)t, (YamuxFlags)f, id, len);
            var b = new byte[12];
            h.Write(b);
            Assert.Equal(h, YamuxHeader.Parse(b));
        }, iter: 2000);
        Gen.Byte.Array[12].Sample(b =>
        {
            try
            {
                var h = YamuxHeader.Parse(b);
                Assert.Equal(0, b[0]);
                Assert.True(b[1] <= 3);
            }
            catch (YamuxProtocolException)
            {
                Assert.True(b[0] != 0 || b[1] > 3 || (BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(2)) & ~0xF) != 0);
            }
        }, iter: 5000);
    }
}
