using Vivim.Protocol.Merkle;

namespace Vivim.Storage;

/// <summary>Rebuilds a DID's state tree from the log's current documents, as an anchor does when it activates.</summary>
internal static class StateTreeReader
{
    /// <summary>
    /// Reads leaves only (path, value and size, no JSON) and hashes them into flat key and value buffers as they stream in:
    /// no per-document object outlives its row, which matters at 10^6 documents.
    /// </summary>
    public static async Task<SparseMerkleTree> ReadAsync(IUpdateLog log, string did, CancellationToken cancellationToken = default)
    {
        const int size = MerkleHashes.Size;
        var keys = new byte[64 * size];
        var values = new byte[64 * size];
        var sizes = new int[64];
        var count = 0;
        await foreach (var leaf in log.ReadLeavesAsync(did, cancellationToken).ConfigureAwait(false))
        {
            if ((count + 1) * size > keys.Length)
            {
                Array.Resize(ref keys, keys.Length * 2);
                Array.Resize(ref values, values.Length * 2);
                Array.Resize(ref sizes, sizes.Length * 2);
            }

            MerkleHashes.KeyOf(leaf.Path, keys.AsSpan(count * size, size));
            leaf.Value.CopyTo(values.AsSpan(count * size, size));
            sizes[count] = leaf.Size;
            count++;
        }

        return SparseMerkleTree.Build(keys.AsSpan(0, count * size), values.AsSpan(0, count * size), sizes.AsSpan(0, count));
    }
}
