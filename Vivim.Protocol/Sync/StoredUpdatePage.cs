using Vivim.Protocol.Json;
using Vivim.Protocol.Model;

namespace Vivim.Protocol.Sync;

/// <summary>
/// A page of the log as the anchor reads it: the updates as their stored text (the bulk of a page, which the gateway
/// sends on without re-shaping), packed as one UTF-8 block, and the commits that overlap them as records (a session
/// needs their roots). <see cref="Parse"/> gives the records, for a client that verifies and applies them.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.StoredUpdatePage")]
public sealed record StoredUpdatePage(
    StoredUpdateList Updates,
    IReadOnlyList<Commit> Commits,
    long HeadSeq,
    bool ResyncRequired = false)
{
    public long LastSeq => Updates.SeqAt(Updates.Count - 1);

    /// <summary>
    /// The records, each parsed from its stored bytes and remembered with what verifying it needs
    /// (<see cref="ReceivedUpdates"/>). A long page is parsed on every core (each update is independent); a bad update
    /// fails the page with the same exception as a parse in order would, the first bad one's.
    /// </summary>
    public UpdatePage Parse()
    {
        var updates = new StateUpdate[Updates.Count];
        if (updates.Length < ParallelThreshold)
        {
            for (var i = 0; i < updates.Length; i++)
            {
                updates[i] = ReceivedUpdates.Parse(Updates.Utf8(i), JsonLimits.Snapshot);
            }
        }
        else
        {
            var errors = new Exception?[updates.Length];
            Parallel.For(0, updates.Length, i =>
            {
                try
                {
                    updates[i] = ReceivedUpdates.Parse(Updates.Utf8(i), JsonLimits.Snapshot);
                }
                catch (Exception e)
                {
                    errors[i] = e;
                }
            });
            if (Array.Find(errors, e => e is not null) is { } first)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
            }
        }

        return new(updates, Commits, HeadSeq, ResyncRequired);
    }

    private const int ParallelThreshold = 64;
}
