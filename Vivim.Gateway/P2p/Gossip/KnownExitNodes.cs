using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Vivim.ExitNodes;
using Vivim.Security;

namespace Vivim.Gateway.P2p.Gossip;

/// <summary>
/// Whether a DID is an exit node hosted by this cluster, as its exit node grain answers (an advertisement, or
/// <see cref="NotHostedException"/>), cached so that validating gossip does not call a grain per message.
/// </summary>
public sealed class KnownExitNodes(
    IClusterClient client,
    IOptions<CommitGossipOptions> options,
    TimeProvider time,
    ILogger<KnownExitNodes> logger,
    CallPrincipals? principals = null)
{
    // Only DIDs whose topics this gateway joined reach here; the cap only guards against a bug growing it without end.
    private const int MaxEntries = 200_000;

    private readonly ConcurrentDictionary<string, Answer> _answers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<bool?>> _lookups = new(StringComparer.Ordinal);
    private readonly CommitGossipOptions _options = options.Value;

    /// <summary>The cached answer, or null while none is (a lookup is started then, so a later message finds one).</summary>
    public bool? IsKnown(string did)
    {
        if (_answers.TryGetValue(did, out var answer) && answer.Until > time.GetUtcNow())
        {
            return answer.Known;
        }

        _ = CheckAsync(did);
        return null;
    }

    /// <summary>Asks the exit node grain (one lookup per DID at a time); null when it could not be asked.</summary>
    public Task<bool?> CheckAsync(string did)
    {
        var mine = new TaskCompletionSource<bool?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lookup = _lookups.GetOrAdd(did, mine.Task);
        if (lookup == mine.Task)
        {
            _ = Task.Run(async () =>
            {
                var known = await LookUpAsync(did);
                _lookups.TryRemove(KeyValuePair.Create(did, mine.Task));
                mine.SetResult(known);
            });
        }

        return lookup;
    }

    /// <summary>Drops what is known of a DID (it moved away or was deleted).</summary>
    public void Forget(string did) => _answers.TryRemove(did, out _);

    private async Task<bool?> LookUpAsync(string did)
    {
        try
        {
            bool known;
            try
            {
                using (principals?.Enter(CallPrincipal.Service) ?? default)
                {
                    var advertisement = await client.GetGrain<IExitNodeGrain>(did).GetAdvertisementAsync();
                    known = string.Equals(advertisement.Did, did, StringComparison.Ordinal);
                }
            }
            catch (NotHostedException)
            {
                known = false;
            }

            if (_answers.Count >= MaxEntries)
            {
                _answers.Clear();
            }

            _answers[did] = new Answer(known, time.GetUtcNow() + (known ? _options.KnownExitNodeTtl : _options.UnknownExitNodeTtl));
            return known;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not cached: messages meanwhile are ignored (not rejected), and the next one asks again.
            logger.LogWarning(e, "Asking whether {Did} is a hosted exit node failed", did);
            return null;
        }
    }

    private sealed record Answer(bool Known, DateTimeOffset Until);
}
