using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;

namespace Vivim.Tests.Client;

/// <summary>
/// An anchor in memory, built from the protocol primitives only (not from Vivim.Client): orders signed updates into
/// seqs, keeps the tree, fills in merkle proofs and signs commits and snapshots with the parent key.
/// </summary>
internal sealed class TestAnchor : IDisposable
{
    private static long _clock = 1767225600000;
    private readonly SparseMerkleTree _tree = new();
    private readonly List<KeyValuePair<string, RawJson>> _documents = [];

    public TestAnchor()
    {
        Parent = SigningKey.Generate();
        Author = SigningKey.Generate();
        CommitSigner = Parent;
    }

    public SigningKey Parent { get; }

    public SigningKey Author { get; }

    /// <summary>Who signs commits; another key stands in for a forger.</summary>
    public SigningKey CommitSigner { get; set; }

    public string Did => Parent.Did.Value;

    public List<StateUpdate> Log { get; } = [];

    public List<Commit> Commits { get; } = [];

    public List<CommittedBatch> Batches { get; } = [];

    public long Head => Log.Count;

    public string RootHex => _tree.RootHex;

    public IReadOnlyDictionary<string, RawJson> Documents => _documents.ToDictionary(d => d.Key, d => d.Value);

    public static long Now() => Interlocked.Increment(ref _clock);

    /// <summary>An update as its author signs it (v1 and v2), not yet ordered.</summary>
    public JsonObject AuthorSign(UpdateOperation operation, string path, string? dataJson, SigningKey? author = null)
    {
        author ??= Author;
        var update = new StateUpdate(
            Guid.NewGuid().ToString(),
            TypeOf(path),
            Now(),
            author.Did.Value,
            "clone-test",
            operation,
            path,
            new RawJson(dataJson ?? "null"),
            string.Empty,
            string.Empty);
        var json = ProtocolModel.ToJsonObject(update);
        SignatureV1.SignInPlace(author, SignedKind.StateUpdate, json);
        SignatureV2.SignInPlace(author, SignedKind.StateUpdate, json);
        return json;
    }

    /// <summary>Signs and commits the changes as one commit.</summary>
    public CommittedBatch Commit(params (UpdateOperation Operation, string Path, string? Data)[] changes) =>
        CommitJson([.. changes.Select(c => JavaScriptJson.Stringify(AuthorSign(c.Operation, c.Path, c.Data)))]);

    public CommittedBatch Set(params (string Path, string Data)[] documents) =>
        Commit([.. documents.Select(d => (_documents.Any(x => x.Key == d.Path) ? UpdateOperation.Update : UpdateOperation.Create, d.Path, (string?)d.Data))]);

    /// <summary>Commits updates given as their authors' JSON text, as the anchor grain's SubmitAsync does.</summary>
    public CommittedBatch CommitJson(IReadOnlyList<string> updatesJson)
    {
        var prevRoot = _tree.RootHex;
        var fromSeq = Head + 1;
        var roots = new List<string>();
        var hashes = new List<string>();
        var updates = new List<StateUpdate>();
        foreach (var text in updatesJson)
        {
            var json = ProtocolJson.ParseObject(text);
            var parsed = ProtocolModel.FromJsonObject<StateUpdate>(json);
            hashes.Add(SignatureV2.ContentHash(SignedKind.StateUpdate, json));
            if (parsed.Operation == UpdateOperation.Delete)
            {
                _tree.Remove(parsed.Path);
                _documents.RemoveAll(d => d.Key == parsed.Path);
            }
            else
            {
                _tree.Set(parsed.Path, StateRules.DocumentValue(parsed.Data));
                var at = _documents.FindIndex(d => d.Key == parsed.Path);
                if (at >= 0)
                {
                    _documents[at] = new(parsed.Path, parsed.Data);
                }
                else
                {
                    _documents.Add(new(parsed.Path, parsed.Data));
                }
            }

            roots.Add(_tree.RootHex);
            json["seq"] = fromSeq + updates.Count;
            json["merkleProof"] = _tree.GetProof(parsed.Path).ToBase64Url();
            var committed = ProtocolModel.FromJsonObject<StateUpdate>(json);
            updates.Add(committed);
            Log.Add(committed);
        }

        var commit = SignCommit(new Commit(Did, fromSeq, Head, prevRoot, roots, roots[^1], hashes, Now()), CommitSigner);
        Commits.Add(commit);
        var batch = new CommittedBatch(Did, commit, updates);
        Batches.Add(batch);
        return batch;
    }

    public static Commit SignCommit(Commit commit, SigningKey key)
    {
        var json = ProtocolModel.ToJsonObject(commit with { Proof = null });
        SignatureV2.SignInPlace(key, SignedKind.Commit, json);
        return ProtocolModel.FromJsonObject<Commit>(json);
    }

    public UpdatePage Page(long afterSeq, int limit)
    {
        var updates = Log.Where(u => u.Seq > afterSeq).Take(limit).ToList();
        var commits = updates.Count == 0
            ? []
            : Commits.Where(c => c.ToSeq >= updates[0].Seq && c.FromSeq <= updates[^1].Seq).ToList();
        return new UpdatePage(updates, commits, Head);
    }

    /// <summary>A snapshot at the head, signed v1 and v2 by <paramref name="signer"/> (default: the parent).</summary>
    public StateSnapshot Snapshot(SigningKey? signer = null, string? rootV2 = null)
    {
        var state = SnapshotState();
        var text = JavaScriptJson.Stringify(state);
        var snapshot = new StateSnapshot(Guid.NewGuid().ToString(), Now(), Did, string.Empty, "1.0.0", "1.0.0", SnapshotRootV1.Compute(state), new RawJson(text), string.Empty, Head, rootV2 ?? _tree.RootHex);
        return SignSnapshot(snapshot, signer ?? Parent);
    }

    public static StateSnapshot SignSnapshot(StateSnapshot snapshot, SigningKey key)
    {
        var json = ProtocolModel.ToJsonObject(snapshot with { Proof = null, Signature = string.Empty });
        SignatureV1.SignInPlace(key, SignedKind.StateSnapshot, json);
        SignatureV2.SignInPlace(key, SignedKind.StateSnapshot, json, JsonLimits.Snapshot);
        return ProtocolModel.FromJsonObject<StateSnapshot>(json);
    }

    private JsonObject SnapshotState() => StateLayout.BuildState(Did, Parent.PublicKeyHex, _documents);

    private static UpdateType TypeOf(string path) => path[..path.IndexOf('/', StringComparison.Ordinal)] switch
    {
        "identity" => UpdateType.Identity,
        "nodes" => UpdateType.Node,
        "apps" => UpdateType.App,
        "contentManifest" => UpdateType.Content,
        "socialGraph" => UpdateType.Social,
        "memoryIndex" => UpdateType.Memory,
        var other => throw new ArgumentException($"Unknown category {other}."),
    };

    public void Dispose()
    {
        Parent.Dispose();
        Author.Dispose();
    }
}
