using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.State;

namespace Vivim.Client.Replica;

/// <summary>
/// The clone's local copy of a DID's state: documents by path, the state tree over them, the cursor (last applied
/// seq) and the v2 root there. Only verified data reaches it; readers see committed batches only.
/// </summary>
public sealed class CloneReplica
{
    private readonly Lock _lock = new();
    private Dictionary<string, RawJson> _documents = new(StringComparer.Ordinal);
    private SparseMerkleTree _tree = new();
    private bool _batchOpen;

    public bool IsInitialized { get; private set; }

    /// <summary>The DID and key the snapshot's identity named.</summary>
    public string? Did { get; private set; }

    public string? PublicKeyHex { get; private set; }

    /// <summary>The last applied seq (0 before any update).</summary>
    public long Cursor { get; private set; }

    /// <summary>The v2 root at <see cref="Cursor"/>.</summary>
    public string Root { get; private set; } = Hex.Encode(MerkleHashes.Empty);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _documents.Count;
            }
        }
    }

    public bool TryGetDocument(string path, out RawJson document)
    {
        lock (_lock)
        {
            return _documents.TryGetValue(path, out document);
        }
    }

    /// <summary>A copy of every document, by path.</summary>
    public IReadOnlyDictionary<string, RawJson> GetDocuments()
    {
        lock (_lock)
        {
            return new Dictionary<string, RawJson>(_documents, StringComparer.Ordinal);
        }
    }

    /// <summary>The state in the SDK's shape (<c>{identity, nodes, apps, …}</c>).</summary>
    public JsonObject ToState()
    {
        lock (_lock)
        {
            return StateLayout.BuildState(Did ?? string.Empty, PublicKeyHex ?? string.Empty, _documents.OrderBy(d => d.Key, StringComparer.Ordinal));
        }
    }

    /// <summary>A consistent copy of what is committed: identity, cursor, root and documents, taken under one lock.</summary>
    internal ReplicaImage Capture()
    {
        lock (_lock)
        {
            return new ReplicaImage(Did, PublicKeyHex, Cursor, Root, new Dictionary<string, RawJson>(_documents, StringComparer.Ordinal), IsInitialized);
        }
    }

    /// <summary>Replaces everything with a verified snapshot.</summary>
    internal void Load(string did, string publicKeyHex, Dictionary<string, RawJson> documents, SparseMerkleTree tree, long seq)
    {
        lock (_lock)
        {
            EnsureNoBatch();
            _documents = documents;
            _tree = tree;
            Did = did;
            PublicKeyHex = publicKeyHex;
            Cursor = seq;
            Root = tree.RootHex;
            IsInitialized = true;
        }
    }

    /// <summary>Starts applying updates; nothing is visible until <see cref="ReplicaBatch.Commit"/>, and disposing uncommitted rolls back.</summary>
    internal ReplicaBatch Begin()
    {
        lock (_lock)
        {
            EnsureNoBatch();
            _batchOpen = true;
            return new ReplicaBatch(this);
        }
    }

    internal readonly record struct ReplicaImage(string? Did, string? PublicKeyHex, long Cursor, string Root, Dictionary<string, RawJson> Documents, bool IsInitialized);

    private void EnsureNoBatch()
    {
        if (_batchOpen)
        {
            throw new InvalidOperationException("A batch is already being applied to this replica.");
        }
    }

    /// <summary>
    /// Applies to the live tree and keeps an undo log, so a refused batch costs only its own length to roll back
    /// rather than a copy of the whole tree. Document changes wait in an overlay until commit.
    /// </summary>
    internal sealed class ReplicaBatch(CloneReplica replica) : IDisposable
    {
        private readonly List<(byte[] Key, byte[]? Previous)> _undo = [];
        private readonly Dictionary<string, RawJson?> _overlay = new(StringComparer.Ordinal);
        private bool _done;

        /// <summary>Whether the tree's root is <paramref name="rootHex"/>, compared without writing the root out.</summary>
        public bool RootIs(string rootHex) => Hex.IsEncodingOf(replica._tree.Root, rootHex);

        /// <summary>Whether <paramref name="proof"/> is the tree's proof for the document keyed <paramref name="key"/> at the current root, in its text form.</summary>
        public bool ProofIs(byte[] key, string proof) => replica._tree.GetProof(key).HasText(proof);

        /// <summary>Sets the document at <paramref name="path"/>, whose tree key (<see cref="MerkleHashes.KeyOf(string)"/>) is <paramref name="key"/>.</summary>
        public void Set(string path, byte[] key, RawJson document, byte[] valueHash)
        {
            replica._tree.TryGetValue(key, out byte[]? previous);
            _undo.Add((key, previous));
            replica._tree.Set(key, valueHash);
            _overlay[path] = document;
        }

        public void Remove(string path, byte[] key)
        {
            if (replica._tree.TryGetValue(key, out byte[]? previous))
            {
                _undo.Add((key, previous));
                replica._tree.Remove(key);
            }

            _overlay[path] = null;
        }

        public void Commit(long cursor)
        {
            lock (replica._lock)
            {
                foreach (var (path, document) in _overlay)
                {
                    if (document is { } value)
                    {
                        replica._documents[path] = value;
                    }
                    else
                    {
                        replica._documents.Remove(path);
                    }
                }

                replica.Cursor = cursor;
                replica.Root = replica._tree.RootHex;
                replica._batchOpen = false;
                _done = true;
            }
        }

        public void Dispose()
        {
            if (_done)
            {
                return;
            }

            // Undo in reverse: the tree's root depends only on its final set, so this restores it exactly.
            for (var i = _undo.Count - 1; i >= 0; i--)
            {
                var (key, previous) = _undo[i];
                if (previous is null)
                {
                    replica._tree.Remove(key);
                }
                else
                {
                    replica._tree.Set(key, previous);
                }
            }

            lock (replica._lock)
            {
                replica._batchOpen = false;
            }

            _done = true;
        }
    }
}
