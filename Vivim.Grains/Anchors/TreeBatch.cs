using Vivim.Protocol.Json;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Storage;

namespace Vivim.Anchors;

/// <summary>
/// A batch of checked updates applied to the state tree in order, with what the log and the receipts need (each
/// update's stored JSON with its seq and proof, the document changes, the roots), and the means to take it back:
/// nothing is acknowledged until the log holds it, so a refused or failed batch leaves the tree as it found it.
/// </summary>
internal sealed class TreeBatch(SparseMerkleTree tree)
{
    private readonly List<(byte[] Key, byte[]? Previous, int PreviousBytes)> _undo = [];

    public List<LoggedUpdate> Logged { get; } = [];

    public List<DocumentChange> Documents { get; } = [];

    public List<string> Roots { get; } = [];

    /// <summary>Each update's Merkle proof (base64url) against the root after it.</summary>
    public List<string> Proofs { get; } = [];

    /// <summary>Applies <paramref name="fresh"/> as seqs <paramref name="firstSeq"/>…, filling in their receipts.</summary>
    public void Apply(IReadOnlyList<UpdateCandidate> fresh, long firstSeq, UpdateReceipt?[] receipts)
    {
        for (var i = 0; i < fresh.Count; i++)
        {
            var candidate = fresh[i];
            var update = candidate.Update!;
            var seq = firstSeq + i;
            var documentKey = candidate.DocumentKey!;
            _undo.Add((documentKey, tree.TryGetValue(documentKey, out var previous) ? previous : null, tree.GetWeight(documentKey)));
            if (update.Operation == UpdateOperation.Delete)
            {
                tree.Remove(documentKey);
                Documents.Add(new DocumentChange(update.Path, null, null, seq));
            }
            else
            {
                tree.Set(documentKey, candidate.DocumentValue!, candidate.DocumentBytes);
                Documents.Add(new DocumentChange(update.Path, update.Data.Text, candidate.DocumentValue, seq));
            }

            var root = tree.RootHex;
            var proof = tree.GetProof(documentKey).ToBase64Url();
            Logged.Add(new LoggedUpdate(seq, update.UpdateId, candidate.UpdateHash!, root, StoredText(candidate, seq, proof)));
            Proofs.Add(proof);
            Roots.Add(root);
            receipts[candidate.Index] = new UpdateReceipt(update.UpdateId, seq, root);
        }
    }

    /// <summary>The update as the log stores it: as received, with the anchor's seq and Merkle proof.</summary>
    private static string StoredText(UpdateCandidate candidate, long seq, string proof)
    {
        if (candidate.Submitted is { } submitted)
        {
            return submitted.StoredText(seq, proof);
        }

        var stored = candidate.Json!; // owned by this batch, so it can take the anchor's fields in place
        stored["seq"] = (double)seq; // held as a double, as parsed numbers are, so the writer reads it on its first try
        stored["merkleProof"] = proof;

        // The document's text is the record's, written from this same tree when the update was checked: copied, not written again.
        return JavaScriptJson.Stringify(stored, "data", candidate.Update!.Data.Text);
    }

    /// <summary>Puts back every document this batch touched, last first.</summary>
    public void Undo()
    {
        for (var i = _undo.Count - 1; i >= 0; i--)
        {
            if (_undo[i].Previous is { } previous)
            {
                tree.Set(_undo[i].Key, previous, _undo[i].PreviousBytes);
            }
            else
            {
                tree.Remove(_undo[i].Key);
            }
        }

        _undo.Clear();
    }
}
