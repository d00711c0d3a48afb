using System.Collections.Concurrent;
using Vivim.Storage;

namespace Vivim.Gateway.Limits;

/// <summary>
/// Answers "is this DID hosted?" from the hosted-DID directory before a request touches per-DID grains, so requests
/// for DIDs that do not exist cost a key lookup instead of a grain activation. Hits are cached for a minute; misses
/// are not (a DID created on another gateway is found at once), and a stale hit only means the grain answers 404.
/// </summary>
public sealed class HostedDidGate(IHostedDidDirectory directory, TimeProvider time)
{
    private const int MaxCached = 100_000;
    private static readonly TimeSpan HitLifetime = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, long> _hits = new(StringComparer.Ordinal);

    /// <summary>An endpoint filter for routes with a <c>{did}</c>: unknown DIDs are answered 404 before the handler runs.</summary>
    public async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ArgumentNullException.ThrowIfNull(next);
        if (invocation.HttpContext.Request.RouteValues.TryGetValue("did", out var value) && value is string did)
        {
            await RequireAsync(did, invocation.HttpContext.RequestAborted);
        }

        return await next(invocation);
    }

    /// <summary>Throws <see cref="Vivim.ExitNodes.NotHostedException"/> (404) for a DID no exit node holds.</summary>
    public async ValueTask RequireAsync(string did, CancellationToken cancellationToken = default)
    {
        var now = time.GetTimestamp();
        if (_hits.TryGetValue(did, out var until) && now < until)
        {
            return;
        }

        if (!await directory.ContainsAsync(did, cancellationToken))
        {
            _hits.TryRemove(did, out _);
            throw new Vivim.ExitNodes.NotHostedException($"No exit node {did} is hosted here.");
        }

        if (_hits.Count >= MaxCached)
        {
            _hits.Clear(); // a full cache starts over rather than tracking age per entry
        }

        _hits[did] = now + (long)(HitLifetime.TotalSeconds * time.TimestampFrequency);
    }
}
