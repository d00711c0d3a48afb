using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace Vivim.Benchmarks.Storage;

/// <summary>
/// What the process was doing while a paced run's slowest batches waited: the runtime's own pauses (each GC's
/// suspension, from the runtime's events) and the thread pool's growth. A tail that GC pauses cover is the collector's;
/// one they do not cover is the path's own.
/// </summary>
internal sealed class TailWitness : EventListener
{
    private const int GcKeyword = 0x1;
    private readonly Lock _gate = new();
    private readonly List<(long Start, long End, int Generation)> _pauses = [];
    private readonly int _threadsAtStart = ThreadPool.ThreadCount;
    private long _suspended;
    private int _generation = -1;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Informational, (EventKeywords)GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        // GCStart (1) names the generation; SuspendEEBegin (9) to RestartEEEnd (3) is the pause threads see.
        switch (eventData.EventId)
        {
            case 1 when eventData.PayloadNames?.IndexOf("Depth") is int depth and >= 0:
                _generation = Convert.ToInt32(eventData.Payload![depth], CultureInfo.InvariantCulture);
                break;
            case 9:
                _suspended = Stamp(eventData.TimeStamp);
                break;
            case 3 when _suspended != 0:
                lock (_gate)
                {
                    _pauses.Add((_suspended, Stamp(eventData.TimeStamp), _generation));
                }

                _suspended = 0;
                break;
        }
    }

    /// <summary>The pauses, the pool's growth, and for each of the slowest batches how much of its wait was a GC pause.</summary>
    public string Explain(IReadOnlyList<(long Start, double Ms)> batches, double share = 0.01)
    {
        List<(long Start, long End, int Generation)> pauses;
        lock (_gate)
        {
            pauses = [.. _pauses];
        }

        static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        var slowest = batches.OrderByDescending(b => b.Ms).Take(Math.Max(1, (int)Math.Ceiling(batches.Count * share))).ToList();
        var origin = batches.Count == 0 ? 0 : batches.Min(b => b.Start);
        var parts = slowest.Select(b =>
        {
            var end = b.Start + (long)(b.Ms * Stopwatch.Frequency / 1000);
            var inside = pauses.Sum(p => Math.Max(0, Math.Min(end, p.End) - Math.Max(b.Start, p.Start)));
            return $"{b.Ms:0.0} ms at {Ms(b.Start - origin) / 1000:0.00} s (GC {Ms(inside):0.0})";
        });
        var byGeneration = string.Join(", ", pauses.GroupBy(p => p.Generation).OrderBy(g => g.Key)
            .Select(g => $"gen{g.Key} {g.Count()} x max {g.Max(p => Ms(p.End - p.Start)):0.0} ms"));
        return $"GC pauses {pauses.Count} ({byGeneration}), total {Ms(pauses.Sum(p => p.End - p.Start)):0} ms; thread pool {_threadsAtStart} -> {ThreadPool.ThreadCount} threads; " +
            $"slowest {slowest.Count}: {string.Join(", ", parts)}";
    }

    // Event timestamps are DateTime (UTC); the batches' are Stopwatch ticks: both move together, Stopwatch is the scale.
    private static long Stamp(DateTime utc) =>
        Stopwatch.GetTimestamp() - (long)((DateTime.UtcNow - utc).TotalSeconds * Stopwatch.Frequency);
}
