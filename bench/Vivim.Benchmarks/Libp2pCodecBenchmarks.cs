using BenchmarkDotNet.Attributes;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Multistream;
using Vivim.Libp2p.Muxing.Yamux;
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

    [GlobalSetup]
    public void Setup()
    {
        new YamuxHeader(YamuxFrameType.Data, YamuxFlags.None, 7, 65536).Write(_header);
        using var id = Ed25519Identity.Generate();
        _maBytes = Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001/p2p/" + id.PeerId).ToBytes();
        _cs = new CipherState();
        _cs.InitializeKey(new byte[32]);
    }

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
