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

    /// <summary>The records, each parsed from its stored bytes and remembered with them (<see cref="ReceivedUpdates"/>) for the update hash.</summary>
    public UpdatePage Parse()
    {
        var updates = new StateUpdate[Updates.Count];
        for (var i = 0; i < updates.Length; i++)
        {
            updates[i] = ReceivedUpdates.Parse(Updates.Utf8(i), JsonLimits.Snapshot);
        }

        return new(updates, Commits, HeadSeq, ResyncRequired);
    }
}
