using System.Text.Json.Nodes;
using Vivim.Client.Sync;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;

namespace Vivim.Client.Replica;

/// <summary>
/// Checks what a parent serves before it touches the replica (docs/protocol.md §7): snapshot signatures and both
/// roots; for updates, commit signatures, seq order, update hashes (from the JSON as received when the transport kept
/// it, <see cref="ReceivedUpdates"/>), the roots the local tree reproduces and each update's Merkle proof (equal to the
/// one the local tree gives at that root). A batch is all or nothing.
/// </summary>
public sealed class ChainVerifier
{
    private readonly string _parentDid;
    private readonly byte[] _parentKey;
    private readonly bool _verifyAuthors;

    public ChainVerifier(string parentDid, byte[] parentKey, bool verifyAuthors)
    {
        ArgumentException.ThrowIfNullOrEmpty(parentDid);
        _parentDid = parentDid;
        _parentKey = parentKey;
        _verifyAuthors = verifyAuthors;
    }

    /// <summary>Verifies a snapshot and loads it into <paramref name="replica"/>, replacing what it held.</summary>
    public void LoadSnapshot(CloneReplica replica, StateSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(replica);
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Seq is not { } seq || snapshot.RootV2 is not { } rootV2 || snapshot.Proof is null)
        {
            throw new SyncVerificationException(VerificationCodes.SnapshotShape, "The snapshot has no seq, rootV2 and v2 proof: it cannot be verified.");
        }

        if (!string.Equals(snapshot.SourceDid, _parentDid, StringComparison.Ordinal))
        {
            throw new SyncVerificationException(VerificationCodes.SnapshotShape, $"The snapshot is of {snapshot.SourceDid}, not {_parentDid}.");
        }

        var json = ProtocolModel.ToJsonObject(snapshot);
        if (!Guard(VerificationCodes.SnapshotSignature, () => SignatureV1.Verify(SignedKind.StateSnapshot, json, _parentKey) && SignatureV2.Verify(SignedKind.StateSnapshot, json, _parentKey, JsonLimits.Snapshot)))
        {
            throw new SyncVerificationException(VerificationCodes.SnapshotSignature, "The snapshot's signatures do not verify under the parent's key.");
        }

        JsonObject state;
        List<KeyValuePair<string, RawJson>> documents;
        string did;
        string publicKeyHex;
        try
        {
            state = snapshot.State.Parse(JsonLimits.Snapshot) as JsonObject ?? throw new FormatException("The state is not an object.");
            documents = StateLayout.ReadDocuments(state, out did, out publicKeyHex);
        }
        catch (Exception e) when (e is FormatException or ProtocolException)
        {
            throw new SyncVerificationException(VerificationCodes.SnapshotShape, e.Message, e);
        }

        if (!string.Equals(SnapshotRootV1.Compute(state), snapshot.MerkleRoot, StringComparison.Ordinal))
        {
            throw new SyncVerificationException(VerificationCodes.SnapshotRoot, "The snapshot's merkleRoot (v1) does not match its state.");
        }

        if (!string.Equals(did, _parentDid, StringComparison.Ordinal))
        {
            throw new SyncVerificationException(VerificationCodes.SnapshotShape, "The snapshot's identity is another DID.");
        }

        var values = new List<KeyValuePair<string, byte[]>>(documents.Count);
        var byPath = new Dictionary<string, RawJson>(documents.Count, StringComparer.Ordinal);
        foreach (var (path, document) in documents)
        {
            values.Add(new(path, StateRules.DocumentValue(document)));
            byPath[path] = document;
        }

        var tree = SparseMerkleTree.BuildFromPaths(values);
        if (!string.Equals(tree.RootHex, rootV2, StringComparison.Ordinal))
        {
            throw new SyncVerificationException(VerificationCodes.SnapshotRoot, "The snapshot's documents do not reproduce its rootV2.");
        }

        replica.Load(did, publicKeyHex, byPath, tree, seq);
    }

    /// <summary>
    /// Verifies and applies the updates after the replica's cursor, all or nothing. Updates at or below the cursor
    /// are duplicates and skipped. The rest must be cursor + 1, + 2, … with no gap. With
    /// <paramref name="requireCompleteCommits"/> (a live batch, or a page that is not full) the last update must end
    /// its commit, so a truncated delivery is refused.
    /// </summary>
    /// <returns>The updates applied, in seq order.</returns>
    public IReadOnlyList<StateUpdate> Apply(CloneReplica replica, IReadOnlyList<StateUpdate> updates, IReadOnlyList<Commit> commits, bool requireCompleteCommits)
    {
        ArgumentNullException.ThrowIfNull(replica);
        ArgumentNullException.ThrowIfNull(updates);
        ArgumentNullException.ThrowIfNull(commits);
        var bySeq = IndexCommits(commits);
        var cursor = replica.Cursor;
        var fresh = new List<StateUpdate>(updates.Count);
        foreach (var update in updates)
        {
            if (update.Seq is not { } seq)
            {
                throw new SyncVerificationException(VerificationCodes.InvalidUpdate, $"Update {update.UpdateId} has no seq.") { Update = update };
            }

            if (seq <= cursor && fresh.Count == 0)
            {
                continue; // a duplicate delivery
            }

            var expected = cursor + fresh.Count + 1;
            if (seq != expected)
            {
                throw new SyncVerificationException(VerificationCodes.Order, $"Expected seq {expected}, got {seq}: the stream has a gap or is out of order.") { Update = update };
            }

            fresh.Add(update);
        }

        if (fresh.Count == 0)
        {
            return fresh;
        }

        var checks = CheckAll(fresh, bySeq);
        using var batch = replica.Begin();
        for (var i = 0; i < fresh.Count; i++)
        {
            ApplyOne(batch, fresh[i], checks[i], bySeq);
        }

        var last = fresh[^1].Seq!.Value;
        var lastCommit = bySeq[last];
        if (requireCompleteCommits && last != lastCommit.ToSeq)
        {
            throw new SyncVerificationException(VerificationCodes.Truncated, $"Commit {lastCommit.FromSeq}..{lastCommit.ToSeq} was delivered only up to {last}.") { Update = fresh[^1] };
        }

        batch.Commit(last);
        return fresh;
    }

    /// <summary>
    /// What can be checked without the tree, computed in parallel for long batches (each update is independent): the
    /// document's tree value (null for a delete) and tree key, or the refusal, which the sequential pass reports in
    /// seq order, so the first failing update is the one reported however the checks were scheduled.
    /// </summary>
    private readonly record struct Checked(byte[]? Value, byte[]? Key, SyncVerificationException? Error);

    private Checked[] CheckAll(List<StateUpdate> updates, Dictionary<long, Commit> bySeq)
    {
        var results = new Checked[updates.Count];
        if (updates.Count >= ParallelThreshold)
        {
            Parallel.For(0, updates.Count, i => results[i] = Check(updates[i], bySeq));
        }
        else
        {
            for (var i = 0; i < updates.Count; i++)
            {
                results[i] = Check(updates[i], bySeq);
            }
        }

        return results;
    }

    private const int ParallelThreshold = 64;

    private Checked Check(StateUpdate update, Dictionary<long, Commit> bySeq)
    {
        var seq = update.Seq!.Value;
        if (!bySeq.TryGetValue(seq, out var commit))
        {
            return default; // reported in order by the sequential pass
        }

        var i = checked((int)(seq - commit.FromSeq));
        try
        {
            // One canonical form gives the update hash, the document's tree value (data's canonical slice) and the
            // author's signing input: the one received when the transport kept it, else the record turned back into JSON.
            byte[] signing;
            var range = default(Range);
            byte[]? receivedSignature = null;
            JsonObject? json = null;
            if (ReceivedUpdates.TryGet(update, out var received) && received.SigningBytes is { } receivedSigning)
            {
                signing = receivedSigning;
                range = received.Data;
                receivedSignature = received.ProofSignature;
            }
            else
            {
                json = received?.Json ?? ToJson(update);
                signing = Guard(VerificationCodes.UpdateHash, () => SignatureV2.SigningBytes(SignedKind.StateUpdate, json, "data", out range), update);
            }

            if (!Hex.IsEncodingOf(ShortSha256.Hash(signing), commit.UpdateHashes[i]))
            {
                throw new SyncVerificationException(VerificationCodes.UpdateHash, $"Update {seq} is not the one its commit signed.") { Update = update };
            }

            if (StateRules.PathProblem(update.Path, update.Type) is { } problem)
            {
                throw new SyncVerificationException(VerificationCodes.InvalidUpdate, problem) { Update = update };
            }

            if (_verifyAuthors && !Guard(VerificationCodes.AuthorSignature, () => Ed25519Keys.Verify(DidKey.ResolvePublicKey(update.SourceDid), signing, receivedSignature ?? SignatureV2.ReadProofSignature(json!)), update))
            {
                throw new SyncVerificationException(VerificationCodes.AuthorSignature, $"Update {seq}'s author signature does not verify.") { Update = update };
            }

            var value = update.Operation == UpdateOperation.Delete ? null : ShortSha256.Hash(signing.AsSpan(range));

            // Hashed here, in parallel, rather than by each of the sequential pass's tree calls. A path with no UTF-8
            // form has no key; the sequential pass meets it through the path, as before.
            byte[]? key = null;
            try
            {
                key = MerkleHashes.KeyOf(update.Path);
            }
            catch (ArgumentException)
            {
            }

            // The merkle proof is checked by the sequential pass, against the proof its own tree gives at that root.
            return new Checked(value, key, null);
        }
        catch (SyncVerificationException e)
        {
            return new Checked(null, null, e);
        }
    }

    private static JsonObject ToJson(StateUpdate update)
    {
        try
        {
            return ProtocolModel.ToJsonObject(update);
        }
        catch (Exception e) when (e is ProtocolException or InvalidOperationException)
        {
            throw new SyncVerificationException(VerificationCodes.InvalidUpdate, e.Message, e) { Update = update };
        }
    }

    private static void ApplyOne(CloneReplica.ReplicaBatch batch, StateUpdate update, Checked check, Dictionary<long, Commit> bySeq)
    {
        var seq = update.Seq!.Value;
        if (!bySeq.TryGetValue(seq, out var commit))
        {
            throw new SyncVerificationException(VerificationCodes.MissingCommit, $"No commit covers seq {seq}.") { Update = update };
        }

        var i = checked((int)(seq - commit.FromSeq));
        var before = i == 0 ? commit.PrevRoot : commit.Roots[i - 1];
        if (!batch.RootIs(before))
        {
            throw new SyncVerificationException(i == 0 ? VerificationCodes.PrevRoot : VerificationCodes.Root, $"The local root before seq {seq} is not the commit's.") { Update = update };
        }

        if (check.Error is { } error)
        {
            throw error;
        }

        var key = check.Key ?? MerkleHashes.KeyOf(update.Path);
        if (check.Value is { } value)
        {
            batch.Set(update.Path, key, update.Data, value);
        }
        else
        {
            batch.Remove(update.Path, key);
        }

        if (!batch.RootIs(commit.Roots[i]))
        {
            throw new SyncVerificationException(VerificationCodes.Root, $"Applying seq {seq} does not reproduce the committed root.") { Update = update };
        }

        // A proof is canonical (docs/protocol.md §6): the one that verifies against this root for this document is the
        // one this tree, now at that root, gives. Comparing them is the proof check without rehashing the path.
        if (!batch.ProofIs(key, update.MerkleProof))
        {
            throw new SyncVerificationException(VerificationCodes.MerkleProof, $"Update {seq}'s merkle proof does not verify against its root.") { Update = update };
        }
    }

    private Dictionary<long, Commit> IndexCommits(IReadOnlyList<Commit> commits)
    {
        var bySeq = new Dictionary<long, Commit>();
        foreach (var commit in commits)
        {
            var count = commit.ToSeq - commit.FromSeq + 1;
            if (!string.Equals(commit.Did, _parentDid, StringComparison.Ordinal) || commit.FromSeq < 1 || count < 1
                || commit.Roots.Count != count || commit.UpdateHashes.Count != count
                || !string.Equals(commit.Root, commit.Roots[^1], StringComparison.Ordinal))
            {
                throw new SyncVerificationException(VerificationCodes.CommitShape, $"Commit {commit.FromSeq}..{commit.ToSeq} is malformed.");
            }

            var json = ProtocolModel.ToJsonObject(commit);
            if (!Guard(VerificationCodes.CommitSignature, () => SignatureV2.Verify(SignedKind.Commit, json, _parentKey)))
            {
                throw new SyncVerificationException(VerificationCodes.CommitSignature, $"Commit {commit.FromSeq}..{commit.ToSeq} is not signed by the parent.");
            }

            for (var seq = commit.FromSeq; seq <= commit.ToSeq; seq++)
            {
                // The same commit may arrive twice (a page and a live batch); two different ones for a seq may not.
                if (bySeq.TryGetValue(seq, out var other) && !SameCommit(other, commit))
                {
                    throw new SyncVerificationException(VerificationCodes.CommitShape, $"Two different commits cover seq {seq}.");
                }

                bySeq[seq] = commit;
            }
        }

        return bySeq;
    }

    // Both verified: equal ranges and equal (deterministic) signatures mean equal content.
    private static bool SameCommit(Commit a, Commit b) =>
        a.FromSeq == b.FromSeq && a.ToSeq == b.ToSeq && string.Equals(a.Proof?.Signature, b.Proof?.Signature, StringComparison.Ordinal);

    // Malformed signatures, proofs or documents are refusals like any other, not crashes.
    private static T Guard<T>(string code, Func<T> check, StateUpdate? update = null)
    {
        try
        {
            return check();
        }
        catch (Exception e) when (e is ProtocolException or ArgumentException or FormatException)
        {
            throw new SyncVerificationException(code, e.Message, e) { Update = update };
        }
    }
}
