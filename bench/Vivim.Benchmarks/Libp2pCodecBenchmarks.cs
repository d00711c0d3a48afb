using BenchmarkDotNet.Attributes;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Multistream;
using Vivim.Libp2p.Muxing.Yamux;
using Vivim.Libp2p.Protocols.Pubsub;
using Vivim.Libp2p.Security.Noise;

namespace Vivim.Benchmarks;

/// <summary>Micro-benchmarks of the hot decoders and the Noise frame cipher (run: -- --filter *Libp2pCodec*).</summary>
[MemoryDiagnoser]
public class Libp2pCodecBenchmarks
{
    private readonly byte[] _varint = Varint.Encode(1UL << 40);
    private readonly byte[] _header = new byte[12];
    private readonly byte[] _ms = MultistreamSelect.EncodeMessage("/ipfs/kad/1.0.0");
    private readonly byte[] _plain = new byte[NoiseSecureStream.MaxPlaintext];
    private readonly byte[] _cipher = new byte[NoiseSecureStream.MaxPlaintext + 16];
    private byte[] _maBytes = [];
    private CipherState _cs = null!;
    private PubsubMessage _signed = null!;
    private PubsubMessage _publishedTemplate = null!;
    private Ed25519Identity _author = null!;
    private Libp2pPublicKey _authorKey = null!;
    private byte[] _signedBytes = [];

    [GlobalSetup]
    public void Setup()
    {
        new YamuxHeader(YamuxFrameType.Data, YamuxFlags.None, 7, 65536).Write(_header);
        using var id = Ed25519Identity.Generate();
        _maBytes = Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001/p2p/" + id.PeerId).ToBytes();
        _cs = new CipherState();
        _cs.InitializeKey(new byte[32]);

        // A commit notice as a gateway publishes it: ~700 bytes of JSON, signed by the gateway's peer key.
        _author = Ed25519Identity.Generate();
        _publishedTemplate = new PubsubMessage { From = _author.PeerId.ToByteArray(), Data = new byte[700], Seqno = new byte[8], Topic = "/vivim/sync/did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK" };
        _signed = new PubsubMessage { From = _publishedTemplate.From, Data = _publishedTemplate.Data, Seqno = _publishedTemplate.Seqno, Topic = _publishedTemplate.Topic };
        _signedBytes = GossipSub.SignedBytes(_signed);
        _signed.Signature = _author.Sign(_signedBytes);
        _authorKey = _author.PeerId.TryGetPublicKey()!;
    }

    /// <summary>What every subscriber pays per received message: the StrictSign check (author key from the peer id, Ed25519 verify).</summary>
    [Benchmark]
    public bool GossipSignatureCheck() => GossipSub.VerifySignature(_signed, out _);

    /// <summary>The key import and Ed25519 verification alone, for comparison.</summary>
    [Benchmark]
    public bool Ed25519VerifyOnly() => _authorKey.Verify(_signedBytes, _signed.Signature);

    [Benchmark]
    public ulong VarintRead() => Varint.Read(_varint, out _);

    [Benchmark]
    public YamuxHeader YamuxHeaderParse() => YamuxHeader.Parse(_header);

    [Benchmark]
    public string MultistreamDecode() => MultistreamSelect.DecodeMessage(_ms, out _);

    [Benchmark]
    public Multiaddr MultiaddrFromBytes() => Multiaddr.FromBytes(_maBytes);

    /// <summary>One full 64 KiB Noise transport frame (ChaCha20-Poly1305 encrypt).</summary>
    [Benchmark]
    public int NoiseEncryptFrame() => _cs.EncryptWithAd(ReadOnlySpan<byte>.Empty, _plain, _cipher);
}
