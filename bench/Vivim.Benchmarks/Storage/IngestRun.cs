namespace Vivim.Benchmarks.Storage;

/// <summary>Updates stored, wall time, and the commit latency of each batch (ms).</summary>
internal sealed record IngestRun(long Updates, TimeSpan Elapsed, List<double> LatenciesMs)
{
    /// <summary>CPU used by this process during the run, when measured.</summary>
    public TimeSpan? ProcessCpu { get; init; }

    /// <summary>CPU used by the database server's backends during the run, when measured (PostgreSQL).</summary>
    public TimeSpan? ServerCpu { get; init; }

    public double Rate => Updates / Elapsed.TotalSeconds;

    public double Percentile(double q)
    {
        var sorted = LatenciesMs.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(q * sorted.Count))];
    }

    public string Describe() =>
        $"{Updates:N0} updates in {Elapsed.TotalSeconds:0.00} s = {Rate:N0} updates/s; batch commit p50 {Percentile(0.5):0.0} ms, p99 {Percentile(0.99):0.0} ms" +
        (ProcessCpu is { } cpu ? $"; CPU per update {cpu.TotalMicroseconds / Updates:0} us here" : string.Empty) +
        (ServerCpu is { } server ? $" + {server.TotalMicroseconds / Updates:0} us in PostgreSQL" : string.Empty);
}
