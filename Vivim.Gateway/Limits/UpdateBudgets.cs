using System.Collections.Concurrent;
using Vivim.Telemetry;

namespace Vivim.Gateway.Limits;

/// <summary>
/// Each tenant's updates per second (its quota), charged per update a request carries. A batch no larger than a
/// second's worth waits for that many updates of budget; a larger one (batches are atomic, up to the anchor's cap) is
/// let through only on a full budget and leaves a debt that holds off the tenant's next batch until it is repaid, so
/// over any span a tenant commits at most its rate plus one second's worth. Refusals carry the exact wait.
/// </summary>
public sealed class UpdateBudgets(TimeProvider time)
{
    private const int SweepAbove = 10_000;

    private readonly ConcurrentDictionary<string, Budget> _budgets = new(StringComparer.Ordinal);
    private long _nextSweep;

    /// <exception cref="RateLimitedException">The tenant's budget does not cover <paramref name="updates"/> yet.</exception>
    public void Charge(string tenantId, int updates, int perSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(updates);
        perSecond = Math.Max(1, perSecond);
        var now = time.GetTimestamp();
        // A sweep walks every budget: at most once a second, not on every write of a busy gateway.
        if (_budgets.Count > SweepAbove && now >= Interlocked.Read(ref _nextSweep))
        {
            Interlocked.Exchange(ref _nextSweep, now + time.TimestampFrequency);
            Sweep(now);
        }

        var budget = _budgets.GetOrAdd(tenantId, _ => new Budget(perSecond, now));
        lock (budget)
        {
            budget.Refill(perSecond, now, time.TimestampFrequency);

            // A batch over the rate needs the whole second's budget: enough is never more than the bucket holds.
            var needed = Math.Min(updates, perSecond);
            if (budget.Balance < needed)
            {
                VivimMetrics.Refused("rate-limit", "tenant-updates");
                throw new RateLimitedException("this tenant's updates", TimeSpan.FromSeconds((needed - budget.Balance) / perSecond));
            }

            budget.Balance -= updates;
        }
    }

    private void Sweep(long now)
    {
        foreach (var (tenant, budget) in _budgets)
        {
            lock (budget)
            {
                budget.Refill(budget.Rate, now, time.TimestampFrequency);
                if (budget.Balance >= budget.Rate)
                {
                    _budgets.TryRemove(tenant, out _); // a full budget is what a new entry starts with
                }
            }
        }
    }

    private sealed class Budget(int rate, long at)
    {
        public double Balance { get; set; } = rate;

        public int Rate { get; private set; } = rate;

        private long _at = at;

        public void Refill(int rate, long now, long frequency)
        {
            Rate = rate;
            Balance = Math.Min(rate, Balance + ((double)(now - _at) / frequency * rate));
            _at = now;
        }
    }
}
