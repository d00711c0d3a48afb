using System.Diagnostics.CodeAnalysis;

namespace Vivim.Protocol.Merkle;

/// <summary>
/// The compacted sparse Merkle tree behind the state's v2 root: 256-bit keys (<c>SHA-256(path)</c>), 32-byte values
/// (<c>SHA-256(JCS(document))</c>), each leaf at its key's shortest unique prefix, and the root a function of the
/// key/value set alone (independent of history). Updates, lookups and proofs cost O(log n); the root is cached and
/// only the hashes along a changed path are recomputed.
/// </summary>
/// <remarks>
/// Not thread-safe: one owner (the anchor grain) mutates and reads it; concurrent use needs external locking.
/// Internally it is a binary Patricia trie whose branches sit where keys diverge; the runs of single-child levels
/// between them are folded into each branch's cached hash, so the stored shape stays O(n) while the hashes match
/// the full 256-level definition.
/// </remarks>
public sealed class SparseMerkleTree
{
    private const int Size = MerkleHashes.Size;

    // Leaves are referenced as ~index (negative), branches as index (non-negative).
    private Leaf[] _leaves;
    private Branch[] _branches;
    private int _leafHigh;
    private int _branchHigh;
    private int[] _freeLeaves = [];
    private int _freeLeafCount;
    private int[] _freeBranches = [];
    private int _freeBranchCount;
    private int _root;
    private readonly byte[] _rootHash = new byte[Size];

    /// <summary>Creates an empty tree.</summary>
    public SparseMerkleTree()
        : this(0)
    {
    }

    /// <summary>Creates an empty tree with room for <paramref name="capacity"/> keys before it grows.</summary>
    public SparseMerkleTree(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _leaves = new Leaf[capacity];
        _branches = new Branch[Math.Max(capacity - 1, 0)];
        MerkleHashes.Empty.CopyTo(_rootHash);
    }

    /// <summary>The number of keys.</summary>
    public int Count { get; private set; }

    /// <summary>
    /// The sum of every key's weight: an unhashed number each key carries beside its value (the anchor stores its
    /// document's size in bytes there), so a total over 10^6 keys costs no separate map. It never affects a root.
    /// </summary>
    public long TotalWeight { get; private set; }

    /// <summary>
    /// The current root (32 bytes; EMPTY for the empty tree). The span views the tree's own buffer, so it changes
    /// with the tree; copy it (<see cref="GetRoot"/>) to keep it.
    /// </summary>
    public ReadOnlySpan<byte> Root => _rootHash;

    /// <summary>A copy of the current root.</summary>
    public byte[] GetRoot() => (byte[])_rootHash.Clone();

    /// <summary>The current root as lowercase hex.</summary>
    public string RootHex => Convert.ToHexStringLower(_rootHash);

    /// <summary>
    /// Builds a tree from unordered pairs in O(n log n): <paramref name="keys"/> and <paramref name="values"/> are
    /// concatenations of 32-byte items, pair i being item i of each.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths are not equal multiples of 32, or a key repeats.</exception>
    public static SparseMerkleTree Build(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values) => Build(keys, values, []);

    /// <summary>
    /// Builds a tree from unordered pairs in O(n log n) as <see cref="Build(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>,
    /// with each key's weight (<paramref name="weights"/> empty, or one non-negative weight per pair).
    /// </summary>
    /// <exception cref="ArgumentException">The lengths do not match, a weight is negative, or a key repeats.</exception>
    public static SparseMerkleTree Build(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ReadOnlySpan<int> weights)
    {
        if (keys.Length % Size != 0 || keys.Length != values.Length)
        {
            throw new ArgumentException("Keys and values must be equally many 32-byte items.", nameof(values));
        }

        int n = keys.Length / Size;
        if (!weights.IsEmpty && weights.Length != n)
        {
            throw new ArgumentException("There must be one weight per key, or none.", nameof(weights));
        }

        var tree = new SparseMerkleTree(n);
        long total = 0;
        for (int i = 0; i < n; i++)
        {
            ref Leaf leaf = ref tree._leaves[i];
            leaf.Key = Key256.Read(keys.Slice(i * Size, Size));
            values.Slice(i * Size, Size).CopyTo(leaf.Value);
            if (!weights.IsEmpty)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(weights[i], nameof(weights));
                leaf.Weight = weights[i];
                total += weights[i];
            }
        }

        tree.TotalWeight = total;

        tree.FinishBuild(n);
        return tree;
    }

    /// <summary>Builds a tree from unordered (key, value) pairs in O(n log n).</summary>
    /// <exception cref="ArgumentException">A key or value is not 32 bytes, or a key repeats.</exception>
    public static SparseMerkleTree Build(IEnumerable<KeyValuePair<byte[], byte[]>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var tree = new SparseMerkleTree(entries is ICollection<KeyValuePair<byte[], byte[]>> c ? c.Count : 0);
        int n = 0;
        foreach (var (key, value) in entries)
        {
            MerkleHashes.CheckSize(key, nameof(entries));
            MerkleHashes.CheckSize(value, nameof(entries));
            if (n == tree._leaves.Length)
            {
                Array.Resize(ref tree._leaves, Grow(n));
            }

            ref Leaf leaf = ref tree._leaves[n++];
            leaf.Key = Key256.Read(key);
            value.CopyTo(leaf.Value);
        }

        tree.FinishBuild(n);
        return tree;
    }

    /// <summary>Builds a tree from unordered (document path, value hash) pairs in O(n log n).</summary>
    /// <exception cref="ArgumentException">A value is not 32 bytes, or a path repeats.</exception>
    public static SparseMerkleTree BuildFromPaths(IEnumerable<KeyValuePair<string, byte[]>> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var tree = new SparseMerkleTree(documents is ICollection<KeyValuePair<string, byte[]>> c ? c.Count : 0);
        Span<byte> key = stackalloc byte[Size];
        int n = 0;
        foreach (var (path, value) in documents)
        {
            MerkleHashes.CheckSize(value, nameof(documents));
            MerkleHashes.KeyOf(path, key);
            if (n == tree._leaves.Length)
            {
                Array.Resize(ref tree._leaves, Grow(n));
            }

            ref Leaf leaf = ref tree._leaves[n++];
            leaf.Key = Key256.Read(key);
            value.CopyTo(leaf.Value);
        }

        tree.FinishBuild(n);
        return tree;
    }

    /// <summary>Sets the value of <paramref name="key"/> with weight 0, adding it if absent.</summary>
    /// <returns>True if the key was added, false if an existing value was replaced.</returns>
    /// <exception cref="ArgumentException">key or value is not 32 bytes.</exception>
    public bool Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Set(key, value, 0);

    /// <summary>Sets the value and weight of <paramref name="key"/>, adding it if absent.</summary>
    /// <returns>True if the key was added, false if an existing value was replaced.</returns>
    /// <exception cref="ArgumentException">key or value is not 32 bytes, or the weight is negative.</exception>
    public bool Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, int weight)
    {
        MerkleHashes.CheckSize(key, nameof(key));
        MerkleHashes.CheckSize(value, nameof(value));
        ArgumentOutOfRangeException.ThrowIfNegative(weight);
        var k = Key256.Read(key);
        if (Count == 0)
        {
            _root = ~AllocLeaf(k, value, weight);
            Count = 1;
            RefreshRoot();
            return true;
        }

        Span<int> path = stackalloc int[257];
        int count = 0;
        int cur = Descend(k, path, ref count);
        Key256 found = _leaves[~cur].Key;
        int c = Key256.FirstDifference(k, found);
        if (c == 256)
        {
            TotalWeight += weight - _leaves[~cur].Weight;
            _leaves[~cur].Weight = weight;
            Span<byte> stored = _leaves[~cur].Value;
            if (!stored.SequenceEqual(value))
            {
                value.CopyTo(stored);
                RehashPath(path[..count], k);
                RefreshRoot();
            }

            return false;
        }

        // The new branch goes above the first node on the path that already discriminates deeper than c.
        int p = 0;
        while (p < count && _branches[path[p]].Depth < c)
        {
            p++;
        }

        int displaced = p < count ? path[p] : cur;
        int leaf = AllocLeaf(k, value, weight);
        int branch = AllocBranch();
        ref Branch nb = ref _branches[branch];
        nb.Depth = c;
        if (k.Bit(c) == 0)
        {
            nb.Left = ~leaf;
            nb.Right = displaced;
        }
        else
        {
            nb.Left = displaced;
            nb.Right = ~leaf;
        }

        if (p == 0)
        {
            _root = branch;
        }
        else
        {
            ReplaceChild(path[p - 1], displaced, branch);
        }

        if (displaced >= 0)
        {
            // Its slot moved deeper, so its folded single-child run is shorter now.
            RecomputeBranch(displaced, c + 1, found);
        }

        path[p] = branch;
        RehashPath(path[..(p + 1)], k);
        Count++;
        RefreshRoot();
        return true;
    }

    /// <summary>Sets the value hash of the document at <paramref name="path"/> (key <c>SHA-256(utf8(path))</c>).</summary>
    /// <returns>True if the document was added, false if an existing value was replaced.</returns>
    public bool Set(string path, ReadOnlySpan<byte> value)
    {
        Span<byte> key = stackalloc byte[Size];
        MerkleHashes.KeyOf(path, key);
        return Set(key, value);
    }

    /// <summary>Removes <paramref name="key"/>.</summary>
    /// <returns>Whether the key was present.</returns>
    /// <exception cref="ArgumentException">key is not 32 bytes.</exception>
    public bool Remove(ReadOnlySpan<byte> key)
    {
        MerkleHashes.CheckSize(key, nameof(key));
        if (Count == 0)
        {
            return false;
        }

        var k = Key256.Read(key);
        Span<int> path = stackalloc int[257];
        int count = 0;
        int cur = Descend(k, path, ref count);
        if (Key256.FirstDifference(k, _leaves[~cur].Key) != 256)
        {
            return false;
        }

        FreeLeaf(~cur);
        Count--;
        if (count == 0)
        {
            RefreshRoot();
            return true;
        }

        // The parent branch disappears and the sibling takes its slot.
        int parent = path[count - 1];
        int sibling = _branches[parent].Left == cur ? _branches[parent].Right : _branches[parent].Left;
        int slot;
        if (count == 1)
        {
            _root = sibling;
            slot = 0;
        }
        else
        {
            ReplaceChild(path[count - 2], parent, sibling);
            slot = _branches[path[count - 2]].Depth + 1;
        }

        FreeBranch(parent);
        if (sibling >= 0)
        {
            RecomputeBranch(sibling, slot, AnyKeyUnder(sibling));
        }

        RehashPath(path[..(count - 1)], k);
        RefreshRoot();
        return true;
    }

    /// <summary>Removes the document at <paramref name="path"/>.</summary>
    /// <returns>Whether it was present.</returns>
    public bool Remove(string path)
    {
        Span<byte> key = stackalloc byte[Size];
        MerkleHashes.KeyOf(path, key);
        return Remove(key);
    }

    /// <summary>The weight of <paramref name="key"/>, or 0 if it is absent.</summary>
    /// <exception cref="ArgumentException">key is not 32 bytes.</exception>
    public int GetWeight(ReadOnlySpan<byte> key)
    {
        int leaf = Find(key);
        return leaf == -1 ? 0 : _leaves[leaf].Weight;
    }

    /// <summary>Whether <paramref name="key"/> is present.</summary>
    public bool ContainsKey(ReadOnlySpan<byte> key) => Find(key) != -1;

    /// <summary>Copies the value of <paramref name="key"/> into <paramref name="value"/> if present.</summary>
    /// <exception cref="ArgumentException">key or value is not 32 bytes.</exception>
    public bool TryGetValue(ReadOnlySpan<byte> key, Span<byte> value)
    {
        MerkleHashes.CheckSize(value, nameof(value));
        int leaf = Find(key);
        if (leaf == -1)
        {
            return false;
        }

        ((ReadOnlySpan<byte>)_leaves[leaf].Value).CopyTo(value);
        return true;
    }

    /// <summary>Gets a copy of the value of <paramref name="key"/> if present.</summary>
    /// <exception cref="ArgumentException">key is not 32 bytes.</exception>
    public bool TryGetValue(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value)
    {
        int leaf = Find(key);
        value = leaf == -1 ? null : ((ReadOnlySpan<byte>)_leaves[leaf].Value).ToArray();
        return value is not null;
    }

    /// <summary>Gets a copy of the value hash of the document at <paramref name="path"/> if present.</summary>
    public bool TryGetValue(string path, [NotNullWhen(true)] out byte[]? value)
    {
        Span<byte> key = stackalloc byte[Size];
        MerkleHashes.KeyOf(path, key);
        return TryGetValue(key, out value);
    }

    /// <summary>
    /// An inclusion proof if <paramref name="key"/> is present, otherwise a non-inclusion proof, both against the
    /// current <see cref="Root"/>.
    /// </summary>
    /// <exception cref="ArgumentException">key is not 32 bytes.</exception>
    public MerkleProof GetProof(ReadOnlySpan<byte> key)
    {
        MerkleHashes.CheckSize(key, nameof(key));
        if (Count == 0)
        {
            return new MerkleProof(MerkleProofKind.NonInclusionEmpty, 0, null, null, [], []);
        }

        var k = Key256.Read(key);
        Span<int> path = stackalloc int[257];
        int count = 0;
        int cur = Descend(k, path, ref count);
        Key256 found = _leaves[~cur].Key;
        int c = Key256.FirstDifference(k, found);
        MerkleProofKind kind;
        int depth;
        int used = count;
        byte[]? otherKey = null;
        byte[]? otherValue = null;
        if (c == 256)
        {
            kind = MerkleProofKind.Inclusion;
            depth = count == 0 ? 0 : _branches[path[count - 1]].Depth + 1;
        }
        else
        {
            used = 0;
            while (used < count && _branches[path[used]].Depth < c)
            {
                used++;
            }

            if (used == count)
            {
                // The found leaf's slot is on our path: the subtree there holds that key alone.
                kind = MerkleProofKind.NonInclusionLeaf;
                depth = count == 0 ? 0 : _branches[path[count - 1]].Depth + 1;
                otherKey = new byte[Size];
                found.Write(otherKey);
                otherValue = ((ReadOnlySpan<byte>)_leaves[~cur].Value).ToArray();
            }
            else
            {
                // Our key leaves the shared prefix at bit c, where the subtree is empty.
                kind = MerkleProofKind.NonInclusionEmpty;
                depth = c + 1;
            }
        }

        int present = used + (kind == MerkleProofKind.NonInclusionEmpty ? 1 : 0);
        var bitmap = new byte[(depth + 7) >> 3];
        var siblings = new byte[present * Size];
        for (int i = 0; i < used; i++)
        {
            ref Branch b = ref _branches[path[i]];
            int d = b.Depth;
            ChildHash(k.Bit(d) == 0 ? b.Right : b.Left, siblings.AsSpan(i * Size, Size));
            bitmap[d >> 3] |= (byte)(0x80 >> (d & 7));
        }

        if (kind == MerkleProofKind.NonInclusionEmpty)
        {
            ComputeBranchHash(path[used], c + 1, found, siblings.AsSpan(used * Size, Size));
            bitmap[c >> 3] |= (byte)(0x80 >> (c & 7));
        }

        return new MerkleProof(kind, depth, otherKey, otherValue, bitmap, siblings);
    }

    /// <summary>A proof for the document at <paramref name="path"/>; see <see cref="GetProof(ReadOnlySpan{byte})"/>.</summary>
    public MerkleProof GetProof(string path)
    {
        Span<byte> key = stackalloc byte[Size];
        MerkleHashes.KeyOf(path, key);
        return GetProof(key);
    }

    private static int Grow(int length) => Math.Max(16, length + (length >> 1));

    // Follows k's bits to the leaf it reaches; records the branches passed.
    private int Descend(in Key256 k, Span<int> path, ref int count)
    {
        int cur = _root;
        while (cur >= 0)
        {
            path[count++] = cur;
            ref Branch b = ref _branches[cur];
            cur = k.Bit(b.Depth) == 0 ? b.Left : b.Right;
        }

        return cur;
    }

    private int Find(ReadOnlySpan<byte> key)
    {
        MerkleHashes.CheckSize(key, nameof(key));
        if (Count == 0)
        {
            return -1;
        }

        var k = Key256.Read(key);
        int cur = _root;
        while (cur >= 0)
        {
            ref Branch b = ref _branches[cur];
            cur = k.Bit(b.Depth) == 0 ? b.Left : b.Right;
        }

        return Key256.FirstDifference(k, _leaves[~cur].Key) == 256 ? ~cur : -1;
    }

    private Key256 AnyKeyUnder(int node)
    {
        while (node >= 0)
        {
            node = _branches[node].Left;
        }

        return _leaves[~node].Key;
    }

    private void ReplaceChild(int parent, int oldChild, int newChild)
    {
        ref Branch b = ref _branches[parent];
        if (b.Left == oldChild)
        {
            b.Left = newChild;
        }
        else
        {
            b.Right = newChild;
        }
    }

    // path[0] is the root branch; each branch's slot is one below its parent's discriminating bit.
    private void RehashPath(ReadOnlySpan<int> path, in Key256 k)
    {
        for (int i = path.Length - 1; i >= 0; i--)
        {
            int slot = i == 0 ? 0 : _branches[path[i - 1]].Depth + 1;
            RecomputeBranch(path[i], slot, k);
        }
    }

    private void RecomputeBranch(int branch, int slot, in Key256 prefixKey) =>
        ComputeBranchHash(branch, slot, prefixKey, _branches[branch].Hash);

    // The hash of the subtree at prefix length `slot`: node(children) at the branch's own depth, then one node()
    // per single-child level up to the slot. prefixKey is any key below the branch (they all share those bits).
    private void ComputeBranchHash(int branch, int slot, in Key256 prefixKey, Span<byte> destination)
    {
        ref Branch b = ref _branches[branch];
        Span<byte> buffer = stackalloc byte[1 + Size + Size];
        buffer[0] = MerkleHashes.NodeTag;
        ChildHash(b.Left, buffer.Slice(1, Size));
        ChildHash(b.Right, buffer.Slice(1 + Size, Size));
        MerkleHashes.Hash65(buffer, destination);
        for (int j = b.Depth - 1; j >= slot; j--)
        {
            if (prefixKey.Bit(j) == 0)
            {
                MerkleHashes.Tagged(MerkleHashes.NodeTag, destination, MerkleHashes.Empty, destination);
            }
            else
            {
                MerkleHashes.Tagged(MerkleHashes.NodeTag, MerkleHashes.Empty, destination, destination);
            }
        }
    }

    // A leaf's hash does not depend on its depth; a branch's cached hash is already at its slot.
    private void ChildHash(int node, Span<byte> destination)
    {
        if (node < 0)
        {
            ref Leaf leaf = ref _leaves[~node];
            Span<byte> buffer = stackalloc byte[1 + Size + Size];
            buffer[0] = MerkleHashes.LeafTag;
            leaf.Key.Write(buffer.Slice(1, Size));
            ((ReadOnlySpan<byte>)leaf.Value).CopyTo(buffer[(1 + Size)..]);
            MerkleHashes.Hash65(buffer, destination);
        }
        else
        {
            ((ReadOnlySpan<byte>)_branches[node].Hash).CopyTo(destination);
        }
    }

    private void RefreshRoot()
    {
        if (Count == 0)
        {
            MerkleHashes.Empty.CopyTo(_rootHash);
        }
        else
        {
            ChildHash(_root, _rootHash);
        }
    }

    private int AllocLeaf(in Key256 key, ReadOnlySpan<byte> value, int weight)
    {
        int index;
        if (_freeLeafCount > 0)
        {
            index = _freeLeaves[--_freeLeafCount];
        }
        else
        {
            if (_leafHigh == _leaves.Length)
            {
                Array.Resize(ref _leaves, Grow(_leafHigh));
            }

            index = _leafHigh++;
        }

        ref Leaf leaf = ref _leaves[index];
        leaf.Key = key;
        value.CopyTo(leaf.Value);
        leaf.Weight = weight;
        TotalWeight += weight;
        return index;
    }

    private int AllocBranch()
    {
        if (_freeBranchCount > 0)
        {
            return _freeBranches[--_freeBranchCount];
        }

        if (_branchHigh == _branches.Length)
        {
            Array.Resize(ref _branches, Grow(_branchHigh));
        }

        return _branchHigh++;
    }

    private void FreeLeaf(int index)
    {
        TotalWeight -= _leaves[index].Weight;
        _leaves[index].Weight = 0;
        if (_freeLeafCount == _freeLeaves.Length)
        {
            Array.Resize(ref _freeLeaves, Grow(_freeLeafCount));
        }

        _freeLeaves[_freeLeafCount++] = index;
    }

    private void FreeBranch(int index)
    {
        if (_freeBranchCount == _freeBranches.Length)
        {
            Array.Resize(ref _freeBranches, Grow(_freeBranchCount));
        }

        _freeBranches[_freeBranchCount++] = index;
    }

    private void FinishBuild(int n)
    {
        Array.Sort(_leaves, 0, n, LeafOrder.Instance);
        for (int i = 1; i < n; i++)
        {
            if (Key256.FirstDifference(_leaves[i - 1].Key, _leaves[i].Key) == 256)
            {
                throw new ArgumentException("A key occurs twice.");
            }
        }

        _leafHigh = n;
        Count = n;
        if (n > 1)
        {
            if (_branches.Length < n - 1)
            {
                _branches = new Branch[n - 1];
            }

            _branchHigh = n - 1;
            _root = BuildRange(0, n, 0, parallelLevels: Environment.ProcessorCount > 1 ? 3 : 0);
        }
        else
        {
            _root = ~0;
        }

        RefreshRoot();
    }

    // Builds the sorted leaves [lo, hi) hanging at prefix length `slot`. The branch splitting a range between
    // leaves m-1 and m gets index m-1: every split point is distinct, so subtrees can be built in parallel.
    private int BuildRange(int lo, int hi, int slot, int parallelLevels)
    {
        if (hi - lo == 1)
        {
            return ~lo;
        }

        int d = Key256.FirstDifference(_leaves[lo].Key, _leaves[hi - 1].Key);
        int a = lo + 1;
        int z = hi - 1;
        while (a < z)
        {
            int mid = (a + z) >>> 1;
            if (_leaves[mid].Key.Bit(d) == 1)
            {
                z = mid;
            }
            else
            {
                a = mid + 1;
            }
        }

        int m = a;
        int left;
        int right;
        if (parallelLevels > 0 && hi - lo > 8192)
        {
            (left, right) = BuildHalvesInParallel(lo, m, hi, d + 1, parallelLevels - 1);
        }
        else
        {
            left = BuildRange(lo, m, d + 1, 0);
            right = BuildRange(m, hi, d + 1, 0);
        }

        int index = m - 1;
        ref Branch b = ref _branches[index];
        b.Left = left;
        b.Right = right;
        b.Depth = d;
        RecomputeBranch(index, slot, _leaves[lo].Key);
        return index;
    }

    // Separate from BuildRange so that the lambdas' closure is allocated only here, not on every recursive call.
    private (int Left, int Right) BuildHalvesInParallel(int lo, int m, int hi, int slot, int parallelLevels)
    {
        int left = 0;
        int right = 0;
        Parallel.Invoke(
            () => left = BuildRange(lo, m, slot, parallelLevels),
            () => right = BuildRange(m, hi, slot, parallelLevels));
        return (left, right);
    }

    private struct Leaf
    {
        public Key256 Key;
        public Bytes32 Value;
        public int Weight;
    }

    private struct Branch
    {
        // The subtree hash at the branch's slot (its parent's depth + 1), single-child levels included.
        public Bytes32 Hash;
        public int Left;
        public int Right;
        public int Depth;
    }

    private sealed class LeafOrder : IComparer<Leaf>
    {
        public static readonly LeafOrder Instance = new();

        public int Compare(Leaf x, Leaf y) => Key256.Compare(x.Key, y.Key);
    }
}
