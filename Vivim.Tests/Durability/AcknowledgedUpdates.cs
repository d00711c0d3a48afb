using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Vivim.Anchors;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Tests.Support;

namespace Vivim.Tests.Durability;

/// <summary>
/// A writer's view of what the cluster promised: every acknowledged update with its seq and root, and the batch it
/// sent when the connection broke (unacknowledged: it may or may not have committed, and is retried as is).
/// </summary>
public sealed class AcknowledgedUpdates
{
    private readonly ConcurrentDictionary<string, UpdateReceipt> _receipts = new(StringComparer.Ordinal);
    private int _counter;
    private int _failures;

    public IReadOnlyCollection<UpdateReceipt> Receipts => _receipts.Values.ToList();

    public int Count => _receipts.Count;

    /// <summary>The last failure of a call (for messages).</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Calls that failed (the batch stayed unacknowledged).</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>The batch in flight when a call failed: retried with the same updateIds.</summary>
    public IReadOnlyList<string>? Unacknowledged { get; private set; }

    /// <summary>Submits batches until <paramref name="stop"/>; returns when a call fails (the node died) or on stop.</summary>
    public async Task WriteUntilFailureAsync(Func<IAnchorStateGrain> anchor, SigningKey author, string prefix, int batchSize, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var batch = Unacknowledged ?? NextBatch(author, prefix, batchSize);
            Unacknowledged = batch;
            SubmitResult result;
            try
            {
                result = await anchor().SubmitAsync(batch);
            }
            catch (Exception e)
            {
                LastError = e;
                // The node or its database failed mid-call: the batch stays unacknowledged.
                Interlocked.Increment(ref _failures);
                return;
            }

            Record(batch, result);
            Unacknowledged = null;
        }
    }

    /// <summary>Retries the unacknowledged batch (if any) until the cluster answers; the same updateIds must not commit twice.</summary>
    public async Task RetryUnacknowledgedAsync(IAnchorStateGrain anchor)
    {
        if (Unacknowledged is { } batch)
        {
            Record(batch, await anchor.SubmitAsync(batch));
            Unacknowledged = null;
        }
    }

    /// <summary>Reads the whole log back and checks every promise: gapless seqs, each acknowledged update at its seq with its root, no updateId twice.</summary>
    public async Task<long> VerifyAsync(IAnchorStateGrain anchor)
    {
        var head = await anchor.GetHeadAsync();
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        var roots = new Dictionary<long, string>();
        long expected = 1;
        for (long after = 0; after < head.Seq;)
        {
            var page = (await anchor.GetUpdatesAsync(after, 500)).Parse();
            Assert.False(page.ResyncRequired);
            Assert.NotEmpty(page.Updates);
            foreach (var update in page.Updates)
            {
                Assert.Equal(expected++, update.Seq);
                Assert.True(seen.TryAdd(update.UpdateId, update.Seq!.Value), $"updateId {update.UpdateId} is in the log twice");
            }

            foreach (var commit in page.Commits)
            {
                for (var seq = commit.FromSeq; seq <= commit.ToSeq; seq++)
                {
                    roots[seq] = commit.Roots[(int)(seq - commit.FromSeq)];
                }
            }

            after = page.Updates[^1].Seq!.Value;
        }

        Assert.Equal(head.Seq, expected - 1);
        foreach (var receipt in _receipts.Values)
        {
            Assert.True(seen.TryGetValue(receipt.UpdateId, out var seq), $"acknowledged update {receipt.UpdateId} (seq {receipt.Seq}) was lost");
            Assert.Equal(receipt.Seq, seq);
            Assert.Equal(receipt.Root, roots[seq]);
        }

        if (head.Seq > 0)
        {
            Assert.Equal(roots[head.Seq], head.Root);
        }

        return head.Seq;
    }

    private void Record(IReadOnlyList<string> batch, SubmitResult result)
    {
        Assert.True(result.Outcome == SubmitOutcome.Committed, string.Join("; ", result.Rejections.Select(r => $"{r.Code}: {r.Reason}")));
        Assert.Equal(batch.Count, result.Receipts.Count);
        foreach (var receipt in result.Receipts)
        {
            if (_receipts.TryGetValue(receipt.UpdateId, out var earlier))
            {
                // A retry of a committed update returns its original receipt: same seq, same root.
                Assert.Equal(earlier, receipt);
            }

            _receipts[receipt.UpdateId] = receipt;
        }
    }

    private List<string> NextBatch(SigningKey author, string prefix, int batchSize)
    {
        var batch = new List<string>(batchSize);
        for (var i = 0; i < batchSize; i++)
        {
            var n = Interlocked.Increment(ref _counter);
            batch.Add(SignedUpdates.Create(author, $"memoryIndex/{prefix}-{n}", new JsonObject { ["n"] = n, ["text"] = $"entry {n} of {prefix}" }, UpdateOperation.Create));
        }

        return batch;
    }
}
