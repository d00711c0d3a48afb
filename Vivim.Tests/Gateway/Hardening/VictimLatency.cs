namespace Vivim.Tests.Gateway.Hardening;

/// <summary>Latencies of a tenant's reads and owner writes, in milliseconds, with their percentiles.</summary>
internal sealed record VictimLatency(IReadOnlyList<double> Reads, IReadOnlyList<double> Writes)
{
    public double ReadP50 => Percentile(Reads, 0.5);

    public double ReadP90 => Percentile(Reads, 0.9);

    public double WriteP50 => Percentile(Writes, 0.5);

    public double WriteP90 => Percentile(Writes, 0.9);

    /// <summary>Nearest rank; NaN for no samples (which fails every comparison).</summary>
    private static double Percentile(IReadOnlyList<double> samples, double fraction)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }

        var sorted = samples.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}
