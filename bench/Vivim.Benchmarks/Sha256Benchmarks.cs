using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Vivim.Protocol;

namespace Vivim.Benchmarks;

/// <summary>
/// SHA-256 of the short inputs the state tree hashes (document paths, 65-byte tagged nodes) and of a signed update's
/// signing bytes: per-call overhead against per-byte speed, for each way of hashing available in the process.
/// </summary>
public class Sha256Benchmarks
{
    private readonly byte[] _hash = new byte[32];
    private byte[] _input = null!;
    private IncrementalHash _incremental = null!;

    [Params(24, 65, 119, 600)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _input = new byte[Length];
        new Random(42).NextBytes(_input);
        _incremental = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }

    [GlobalCleanup]
    public void Cleanup() => _incremental.Dispose();

    [Benchmark(Baseline = true)]
    public int OneShot() => SHA256.HashData(_input, _hash);

    /// <summary>One reused context: how the Merkle tree hashes its nodes where libcrypto's low-level functions do not load.</summary>
    [Benchmark]
    public int ReusedIncremental()
    {
        _incremental.AppendData(_input);
        return _incremental.GetHashAndReset(_hash);
    }

    /// <summary>libsodium's portable SHA-256, through NSec.</summary>
    [Benchmark]
    public byte[] Libsodium()
    {
        NSec.Cryptography.HashAlgorithm.Sha256.Hash(_input, _hash);
        return _hash;
    }

    /// <summary>libcrypto's low-level SHA256_Init/Update/Final: OpenSSL's block code without EVP's per-call work.</summary>
    [Benchmark]
    public byte[] LibcryptoLowLevel()
    {
        LibcryptoSha256.Hash(_input, _hash);
        return _hash;
    }

    /// <summary>What document keys and a clone's update hashes use (ShortSha256): libcrypto's low-level functions, else libsodium up to two blocks and OpenSSL beyond.</summary>
    [Benchmark]
    public byte[] Short()
    {
        ShortSha256.Hash(_input, _hash);
        return _hash;
    }
}
