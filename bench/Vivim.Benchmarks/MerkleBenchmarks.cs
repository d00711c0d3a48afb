using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Vivim.Protocol.Merkle;

namespace Vivim.Benchmarks;

/// <summary>
/// Sparse Merkle tree costs at realistic state sizes. Keys are random 32-byte values (as SHA-256 paths are) and each
/// operation picks a different key, so the numbers include cache misses, not one hot path.
/// </summary>
[MemoryDiagnoser]
public class MerkleBenchmarks
{
    private const int Pool = 4096;

    private SparseMerkleTree _tree = null!;
    private byte[] _packedKeys = null!;
    private byte[] _packedValues = null!;
    private byte[][] _existing = null!;
    private byte[][] _fresh = null!;
    private MerkleProof[] _proofs = null!;
    private byte[][] _proofValues = null!;
    private byte[] _root = null!;
    private readonly byte[] _value = new byte[32];
    private int _next;

    [Params(10_000, 100_000, 1_000_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _packedKeys = new byte[N * 32];
        _packedValues = new byte[N * 32];
        random.NextBytes(_packedKeys);
        random.NextBytes(_packedValues);

        long before = GC.GetTotalMemory(forceFullCollection: true);
        _tree = SparseMerkleTree.Build(_packedKeys, _packedValues);
        long after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine($"// Merkle memory: N={N} tree={after - before} bytes, {(double)(after - before) / N:F1} bytes/document");

        _existing = new byte[Pool][];
        _fresh = new byte[Pool][];
        _proofs = new MerkleProof[Pool];
        _proofValues = new byte[Pool][];
        for (int i = 0; i < Pool; i++)
        {
            int j = random.Next(N);
            _existing[i] = _packedKeys.AsSpan(j * 32, 32).ToArray();
            _proofValues[i] = _packedValues.AsSpan(j * 32, 32).ToArray();
            _fresh[i] = new byte[32];
            random.NextBytes(_fresh[i]);
        }

        _root = _tree.GetRoot();
        for (int i = 0; i < Pool; i++)
        {
            _proofs[i] = _tree.GetProof(_existing[i]);
        }
    }

    /// <summary>Replaces the value of an existing key (a document update).</summary>
    [Benchmark]
    public void UpdateExisting()
    {
        int i = _next++;
        BinaryPrimitives.WriteInt32LittleEndian(_value, i);
        _tree.Set(_existing[i & (Pool - 1)], _value);
    }

    /// <summary>Creates then deletes a new key: two operations, which keeps N stable.</summary>
    [Benchmark]
    public void InsertThenRemove()
    {
        byte[] key = _fresh[_next++ & (Pool - 1)];
        _tree.Set(key, _value);
        _tree.Remove(key);
    }

    [Benchmark]
    public MerkleProof Proof() => _tree.GetProof(_existing[_next++ & (Pool - 1)]);

    [Benchmark]
    public string ProofAsText() => _tree.GetProof(_existing[_next++ & (Pool - 1)]).ToBase64Url();

    /// <summary>Client-side check of a decoded inclusion proof against a fixed root.</summary>
    [Benchmark]
    public bool Verify()
    {
        int i = _next++ & (Pool - 1);
        return _proofs[i].VerifyInclusion(_root, _existing[i], _proofValues[i]);
    }

    /// <summary>What an anchor does on activation: rebuild from its stored (key, leaf value) rows.</summary>
    [Benchmark]
    public SparseMerkleTree BulkBuild() => SparseMerkleTree.Build(_packedKeys, _packedValues);
}
