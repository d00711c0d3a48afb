using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Vivim.Libp2p.Host;

namespace Vivim.Gateway.P2p.Protocols;

/// <summary>
/// Counts a remote peer's rate-limit refusals on the <c>/vivim/*</c> protocols; a peer that keeps sending after being
/// refused <see cref="VivimProtocolOptions.FloodRefusals"/> times in a window loses the connection it floods on.
/// </summary>
public sealed class PeerFloodGuard(IOptions<VivimProtocolOptions> options, TimeProvider time)
{
    private const int MaxTrackedPeers = 10_000;

    private readonly ConcurrentDictionary<string, Window> _refusals = new(StringComparer.Ordinal);

    /// <summary>Records a refusal of <paramref name="connection"/>'s peer; true when that peer was disconnected for it.</summary>
    public async Task<bool> RefusedAsync(Connection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var now = time.GetTimestamp();
        var limit = options.Value;
        if (_refusals.Count >= MaxTrackedPeers)
        {
            _refusals.Clear(); // a bound, not a policy: counting simply starts again
        }

        var window = _refusals.AddOrUpdate(
            connection.RemotePeer.ToString(),
            _ => new Window(now, 1),
            (_, w) => time.GetElapsedTime(w.Started, now) > limit.FloodWindow ? new Window(now, 1) : w with { Count = w.Count + 1 });
        if (window.Count < limit.FloodRefusals)
        {
            return false;
        }

        _refusals.TryRemove(connection.RemotePeer.ToString(), out _);
        await connection.CloseAsync();
        return true;
    }

    private sealed record Window(long Started, int Count);
}
