using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Anchors;

/// <summary>
/// create needs an absent document, update and delete a present one, baseSeq an unchanged one — counting earlier
/// updates of the same batch, which would commit as seqs <c>headSeq + 1</c>….
/// </summary>
internal static class BatchPreconditions
{
    /// <param name="documentSeq">The seq that last wrote a present document (read from the log only for updates with a baseSeq).</param>
    public static async Task<List<UpdateRejection>> CheckAsync(IReadOnlyList<UpdateCandidate> fresh, SparseMerkleTree tree, long headSeq, Func<string, Task<long>> documentSeq)
    {
        var rejections = new List<UpdateRejection>();
        var batchWrites = new Dictionary<string, (bool Exists, long Seq)>(StringComparer.Ordinal);
        for (var i = 0; i < fresh.Count; i++)
        {
            var update = fresh[i].Update!;
            bool exists;
            long? lastSeq = null;
            if (batchWrites.TryGetValue(update.Path, out var written))
            {
                exists = written.Exists;
                lastSeq = written.Seq;
            }
            else
            {
                exists = tree.ContainsKey(fresh[i].DocumentKey);
            }

            if (update.BaseSeq is { } baseSeq)
            {
                lastSeq ??= exists ? await documentSeq(update.Path) : 0;
                if (lastSeq > baseSeq)
                {
                    rejections.Add(new UpdateRejection(fresh[i].Index, update.UpdateId, RejectionCodes.Conflict, $"The document changed at seq {lastSeq}, after baseSeq {baseSeq}."));
                    continue;
                }
            }

            switch (update.Operation)
            {
                case UpdateOperation.Create when exists:
                    rejections.Add(new UpdateRejection(fresh[i].Index, update.UpdateId, RejectionCodes.AlreadyExists, $"{update.Path} already exists."));
                    break;
                case UpdateOperation.Update or UpdateOperation.Delete when !exists:
                    rejections.Add(new UpdateRejection(fresh[i].Index, update.UpdateId, RejectionCodes.NotFound, $"{update.Path} does not exist."));
                    break;
            }

            batchWrites[update.Path] = (update.Operation != UpdateOperation.Delete, headSeq + 1 + i);
        }

        return rejections;
    }
}
