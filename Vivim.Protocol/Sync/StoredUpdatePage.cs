using System.Text;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;

namespace Vivim.Protocol.Sync;

/// <summary>
/// A page of the log as the anchor reads it: the updates as their stored text (the bulk of a page, which the gateway
/// sends on without re-shaping) and the commits that overlap them as records (a session needs their roots).
/// <see cref="Parse"/> gives the records, for a client that verifies and applies them.
/// </summary>
[GenerateSerializer, Immutable, Alias("vivim.StoredUpdatePage")]
public sealed record StoredUpdatePage(
    IReadOnlyList<StoredUpdate> Updates,
    IReadOnlyList<Commit> Commits,
    long HeadSeq,
    bool ResyncRequired = false)
{
    public long LastSeq => Updates[^1].Seq;

    public UpdatePage Parse() => new(
        [.. Updates.Select(u => ProtocolModel.Parse<StateUpdate>(Encoding.UTF8.GetBytes(u.Json), JsonLimits.Snapshot))],
        Commits,
        HeadSeq,
        ResyncRequired);
}
