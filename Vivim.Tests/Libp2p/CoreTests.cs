using Vivim.Libp2p.Core;

namespace Vivim.Tests.Libp2p;

public class CoreTests
{
    private const string SpecPrivKey = "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
    private const string SpecPubKey = "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
    private const string SpecPeerId = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
    private const string SpecCid = "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6";

    [Fact]
    public void SpecKeyVector_SeedGivesPublicKeyPeerIdAndCid()
    {
        var seed = Convert.FromHexString(SpecPrivKey)[4..36];
        using var id = Ed25519Identity.FromSeed(seed);
        Assert.Equal(SpecPubKey, Convert.ToHexStringLower(id.PublicKey.ToProtobuf()));
        Assert.Equal(SpecPrivKey, Convert.ToHexStringLower(id.ToPrivateKeyProtobuf()));
        Assert.Equal(SpecPeerId, id.PeerId.ToString());
        Assert.Equal(SpecCid, id.PeerId.ToCidString());
        Assert.Equal("0024" + SpecPubKey, Convert.ToHexStringLower(id.PeerId.Bytes));
        Assert.Equal(id.PeerId, PeerId.Parse(SpecCid));
        Assert.Equal(id.PeerId, PeerId.Parse(SpecPeerId));
        Assert.Equal(id.PublicKey, id.PeerId.TryGetPublicKey());
    }

    [Fact]
    public void Ed25519_SignVerify_AndRejectsTampering()
    {
        using var id = Ed25519Identity.Generate();
        var msg = "hello"u8.ToArray();
        var sig = id.Sign(msg);
        Assert.True(id.PublicKey.Verify(msg, sig));
        sig[0] ^= 1;
        Assert.False(id.PublicKey.Verify(msg, sig));
        Assert.False(id.PublicKey.Verify(msg, sig.AsSpan(0, 10)));
    }

    [Fact]
    public void PeerId_RsaSizedKeyUsesSha256Multihash()
    {
        var key = new Libp2pPublicKey(KeyType.Rsa, new byte[300]);
        var pid = key.ToPeerId();
        Assert.Equal(0x12, pid.Bytes[0]);
        Assert.Equal(34, pid.Bytes.Length);
        Assert.StartsWith("Qm", pid.ToString());
        Assert.Equal(pid, PeerId.Parse(pid.ToString()));
        Assert.Null(pid.TryGetPublicKey());
    }

    [Theory]
    [InlineData("")]
    [InlineData("Qm")]
    [InlineData("12D3KooW")]
    [InlineData("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi")] // CID with dag-pb codec, not libp2p-key
    [InlineData("zzzz")]
    [InlineData("1111111111111111111111111111111111111111111111111111")]
    public void PeerId_ParseRejectsInvalid(string text) => Assert.Throws<MalformedDataException>(() => PeerId.Parse(text));

    [Fact]
    public void Multiaddr_SpecVectors()
    {
        var ma = Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001/p2p/" + SpecPeerId);
        Assert.Equal("047f000001060fa1a50326" + "0024" + SpecPubKey, Convert.ToHexStringLower(ma.Bytes));
        Assert.Equal("/ip4/127.0.0.1/tcp/4001/p2p/" + SpecPeerId, ma.ToString());
        Assert.Equal(SpecPeerId, ma.PeerId!.ToString());
        Assert.Equal("/ip4/127.0.0.1/tcp/4001", ma.WithoutPeerId().ToString());
        Assert.Equal(4001, ma.ToTcpEndPoint()!.Port);

        var udp = Multiaddr.Parse("/ip4/127.0.0.1/udp/1234");
        Assert.Equal("047f000001910204d2", Convert.ToHexStringLower(udp.Bytes));
        Assert.Equal(ma, Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001/ipfs/" + SpecPeerId));
        Assert.Equal("/ip6/::1/tcp/0", Multiaddr.Parse("/ip6/::1/tcp/0").ToString());
        Assert.Equal("/dns4/example.com/tcp/443/wss", Multiaddr.FromBytes(Multiaddr.Parse("/dns4/example.com/tcp/443/wss").Bytes).ToString());
        Assert.Equal("/ip4/1.2.3.4/udp/4001/quic-v1/p2p/" + SpecPeerId + "/p2p-circuit", Multiaddr.Parse("/ip4/1.2.3.4/udp/4001/quic-v1/p2p/" + SpecPeerId + "/p2p-circuit").ToString());
    }

    [Theory]
    [InlineData("ip4/1.2.3.4")]
    [InlineData("/ip4/1.2.3")]
    [InlineData("/ip4/1.2.3.4/tcp/65536")]
    [InlineData("/ip4/1.2.3.4/tcp/-1")]
    [InlineData("/ip4/1.2.3.4/tcp")]
    [InlineData("/ip6/1.2.3.4")]
    [InlineData("/foo/1")]
    [InlineData("/p2p/notapeer")]
    [InlineData("/")]
    public void Multiaddr_ParseRejectsInvalid(string text) => Assert.Throws<MalformedDataException>(() => Multiaddr.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("04")]             // ip4 with no value
    [InlineData("047f0000")]       // truncated ip4
    [InlineData("06")]             // tcp truncated
    [InlineData("ff01")]           // unknown code
    [InlineData("a50305")]         // p2p claims 5 bytes, none present
    [InlineData("a5030100")]       // p2p with a 1-byte garbage peer id
    [InlineData("3500")]           // dns with empty name
    [InlineData("8080808080808080808001")] // overlong code varint
    public void Multiaddr_FromBytesRejectsInvalid(string hex) =>
        Assert.Throws<MalformedDataException>(() => Multiaddr.FromBytes(Convert.FromHexString(hex)));

    [Theory]
    [InlineData(0UL, "00")]
    [InlineData(1UL, "01")]
    [InlineData(127UL, "7f")]
    [InlineData(128UL, "8001")]
    [InlineData(255UL, "ff01")]
    [InlineData(300UL, "ac02")]
    [InlineData(16384UL, "808001")]
    [InlineData(long.MaxValue, "ffffffffffffffff7f")]
    public void Varint_Vectors(ulong value, string hex)
    {
        Assert.Equal(hex, Convert.ToHexStringLower(Varint.Encode(value)));
        Assert.Equal(value, Varint.Read(Convert.FromHexString(hex), out var n));
        Assert.Equal(hex.Length / 2, n);
    }

    [Theory]
    [InlineData("8000")]                 // non-minimal zero
    [InlineData("ff00")]                 // non-minimal
    [InlineData("80808080808080808001")] // 10 bytes
    [InlineData("ffffffffffffffffff01")] // > 9 bytes
    public void Varint_RejectsOverlongAndNonMinimal(string hex) =>
        Assert.Throws<MalformedDataException>(() => Varint.Read(Convert.FromHexString(hex), out _));

    [Theory]
    [InlineData("")]
    [InlineData("80")]
    [InlineData("ff80")]
    public void Varint_TruncatedIsReportedAsNeedMore(string hex)
    {
        Assert.False(Varint.TryRead(Convert.FromHexString(hex), out _, out _));
        Assert.Throws<MalformedDataException>(() => Varint.Read(Convert.FromHexString(hex), out _));
    }

    [Fact]
    public void Varint_EncodeRejects64BitValues() => Assert.Throws<ArgumentOutOfRangeException>(() => Varint.Encode(ulong.MaxValue));

    [Fact]
    public void PublicKeyProtobuf_RejectsMissingFieldsUnknownFieldsAndBadLengths()
    {
        Assert.Throws<MalformedDataException>(() => Libp2pPublicKey.FromProtobuf(Convert.FromHexString("0801")));             // no data
        Assert.Throws<MalformedDataException>(() => Libp2pPublicKey.FromProtobuf(Convert.FromHexString("1200")));             // no type
        Assert.Throws<MalformedDataException>(() => Libp2pPublicKey.FromProtobuf(Convert.FromHexString("08011203010203")));   // ed25519 of 3 bytes
        Assert.Throws<MalformedDataException>(() => Libp2pPublicKey.FromProtobuf(Convert.FromHexString("0809120100")));       // unknown type
        Assert.Throws<MalformedDataException>(() => Libp2pPublicKey.FromProtobuf(Convert.FromHexString(SpecPubKey + "1801"))); // extra field
        Assert.Throws<MalformedDataException>(() => Libp2pPublicKey.FromProtobuf(Convert.FromHexString("08011221")));         // truncated
        var rsa = Libp2pPublicKey.FromProtobuf(Convert.FromHexString("0800120101"));
        Assert.Equal(KeyType.Rsa, rsa.Type);
        Assert.Equal("0800120101", Convert.ToHexStringLower(rsa.ToProtobuf())); // type 0 still emitted
    }
}
