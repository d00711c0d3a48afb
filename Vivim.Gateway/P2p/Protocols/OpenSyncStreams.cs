using System.Collections.Concurrent;
using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Gateway.Limits;
using Vivim.Libp2p.Host;
using Vivim.Protocol.Sync;
using Vivim.Security;

namespace Vivim.Gateway.P2p.Protocols;

/// <summary>
/// The <c>/vivim/sync</c> streams this gateway is answering, by clone, and one listener on the anchors of their DIDs:
/// when a clone loses access (suspension, removal, deregistration) while one of its streams is open, the stream is
/// reset at once instead of being answered to the end. A DID is listened to while its streams are opened, for one
/// lease; the commits the anchor pushes meanwhile are ignored.
/// </summary>
public sealed partial class OpenSyncStreams : IDidListener
{
    /// <summary>A stream is answered in well under a second; a refused clone may try again after this.</summary>
    private static readonly TimeSpan RetryAfterFullStreams = TimeSpan.FromSeconds(1);

    private readonly IClusterClient _client;
    private readonly CallPrincipals _principals;
    private readonly TimeProvider _time;
    private readonly ILogger<OpenSyncStreams> _logger;
    private readonly Dictionary<string, HashSet<Libp2pStream>> _open = new(StringComparer.Ordinal); // under itself
    private readonly Dictionary<Libp2pStream, string> _cloneOf = []; // under _open
    private readonly ConcurrentDictionary<string, DateTimeOffset> _renewAfter = new(StringComparer.Ordinal);
    private readonly Lazy<IDidListener> _reference;

    public OpenSyncStreams(IClusterClient client, CallPrincipals principals, TimeProvider time, ILogger<OpenSyncStreams> logger)
    {
        _client = client;
        _principals = principals;
        _time = time;
        _logger = logger;
        _reference = new Lazy<IDidListener>(() => _client.CreateObjectReference<IDidListener>(this));
    }

    /// <summary>Streams open now (for tests and metrics).</summary>
    public int Count
    {
        get
        {
            lock (_open)
            {
                return _open.Values.Sum(s => s.Count);
            }
        }
    }

    /// <summary>
    /// Registers <paramref name="stream"/> as answering <paramref name="cloneId"/> of <paramref name="parentDid"/> and
    /// makes sure the parent's revocations reach this gateway; <see cref="Close"/> it when the answer is written.
    /// </summary>
    /// <exception cref="RateLimitedException">The clone already has <paramref name="maxPerClone"/> streams being answered.</exception>
    public async Task OpenAsync(string parentDid, string cloneId, Libp2pStream stream, int maxPerClone)
    {
        lock (_open)
        {
            if (!_open.TryGetValue(cloneId, out var streams))
            {
                _open[cloneId] = streams = [];
            }
            else if (streams.Count >= Math.Max(1, maxPerClone))
            {
                // Counted after authentication, so only the clone itself can use up its own streams.
                throw new RateLimitedException("this clone's open /vivim/sync streams", RetryAfterFullStreams);
            }

            streams.Add(stream);
            _cloneOf[stream] = cloneId;
        }

        try
        {
            await ListenAsync(parentDid);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Without the listener a revocation waits for the next request's check; the answer itself is still checked.
            LogListenFailed(_logger, parentDid, e.Message);
        }
    }

    private async Task ListenAsync(string did)
    {
        var now = _time.GetUtcNow();
        if (_renewAfter.TryGetValue(did, out var renewAfter) && now < renewAfter)
        {
            return;
        }

        ListenerLease lease;
        using (_principals.Enter(CallPrincipal.Service))
        {
            lease = await _client.GetGrain<IAnchorStateGrain>(did).ListenAsync(_reference.Value);
        }

        // Renewed by the first stream opened after half the lease: a stream runs seconds, a lease a minute.
        _renewAfter[did] = now + (lease.Duration / 2);
        if (_renewAfter.Count > 100_000)
        {
            foreach (var lapsed in _renewAfter.Where(l => l.Value < now).Select(l => l.Key).ToList())
            {
                _renewAfter.TryRemove(lapsed, out _);
            }
        }
    }

    public Task OnEventAsync(DidEvent didEvent)
    {
        if (didEvent is CloneAccessRevoked revoked)
        {
            Libp2pStream[] streams;
            lock (_open)
            {
                streams = _open.TryGetValue(revoked.CloneId, out var open) ? [.. open] : [];
            }

            foreach (var stream in streams)
            {
                LogReset(_logger, revoked.CloneId, revoked.Reason);
                stream.Reset();
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>The stream's answer is written (or it was reset): nothing to cut any more.</summary>
    public void Close(Libp2pStream stream)
    {
        lock (_open)
        {
            if (_cloneOf.Remove(stream, out var cloneId) && _open.TryGetValue(cloneId, out var streams) && streams.Remove(stream) && streams.Count == 0)
            {
                _open.Remove(cloneId);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reset a /vivim/sync stream of clone {CloneId}: {Reason}")]
    private static partial void LogReset(ILogger logger, string cloneId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not listen to {Did} for revocations of open /vivim/sync streams: {Reason}")]
    private static partial void LogListenFailed(ILogger logger, string did, string reason);
}
