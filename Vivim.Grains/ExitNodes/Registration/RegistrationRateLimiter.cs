namespace Vivim.ExitNodes;

/// <summary>
/// Sliding one-minute window of registration requests per requesting DID, in the activation's memory: a limit that
/// forgets on reactivation is what the SDK has too, and the gateway limits per peer and IP in front of it.
/// </summary>
internal sealed class RegistrationRateLimiter(int perMinute)
{
    private const long WindowMs = 60_000;
    private const int SweepAbove = 10_000;

    private readonly Dictionary<string, Queue<long>> _requests = new(StringComparer.Ordinal);

    /// <summary>Counts this request and says whether it is within the limit.</summary>
    public bool TryAcquire(string did, long nowMs)
    {
        if (_requests.Count > SweepAbove)
        {
            Sweep(nowMs);
        }

        if (!_requests.TryGetValue(did, out var times))
        {
            times = new Queue<long>();
            _requests[did] = times;
        }

        while (times.Count > 0 && nowMs - times.Peek() >= WindowMs)
        {
            times.Dequeue();
        }

        if (times.Count >= perMinute)
        {
            return false;
        }

        times.Enqueue(nowMs);
        return true;
    }

    private void Sweep(long nowMs)
    {
        foreach (var (did, times) in _requests.ToList())
        {
            if (times.Count == 0 || nowMs - times.Last() >= WindowMs)
            {
                _requests.Remove(did);
            }
        }
    }
}
