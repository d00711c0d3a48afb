using System.Diagnostics;

namespace Vivim.Benchmarks.Gateway;

/// <summary>Nearest-rank percentiles, as the cluster load generators print them.</summary>
internal sealed class Percentiles
{
    private readonly double[] _sorted;

    public Percentiles(IEnumerable<double> samples)
    {
        _sorted = [.. samples];
        Array.Sort(_sorted);
    }

    public int Count => _sorted.Length;

    public double P50 => At(0.5);

    public double P99 => At(0.99);

    public double At(double q) => _sorted.Length == 0 ? double.NaN : _sorted[(int)Math.Min(_sorted.Length - 1, Math.Floor(q * _sorted.Length))];
}

/// <summary>
/// CPU used by the gateway process and by this one since construction, in cores: both share the machine's cores, so
/// this says which side a result is bound by.
/// </summary>
internal sealed class CpuShare
{
    private readonly Func<TimeSpan> _gateway;
    private readonly TimeSpan _gatewayStart;
    private readonly TimeSpan _benchStart;
    private readonly long _started;

    public CpuShare(GatewayProcess gateway)
        : this(() => gateway.CpuTime)
    {
    }

    /// <summary>Another server process than the gateway (a baseline), by its CPU time so far.</summary>
    public CpuShare(Func<TimeSpan> serverCpu)
    {
        _gateway = serverCpu;
        _gatewayStart = serverCpu();
        _benchStart = BenchCpu();
        _started = Stopwatch.GetTimestamp();
    }

    public CpuUse Measure()
    {
        var wall = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        return new CpuUse((_gateway() - _gatewayStart).TotalSeconds / wall, (BenchCpu() - _benchStart).TotalSeconds / wall);
    }

    private static TimeSpan BenchCpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }
}

/// <summary>Average cores busy in each process over a phase.</summary>
internal readonly record struct CpuUse(double Gateway, double Bench)
{
    public override string ToString() => $"CPU gateway {Gateway:0.00} cores, bench {Bench:0.00} cores (of {Environment.ProcessorCount})";
}

/// <summary>Writes started at a steady rate, each on its own task, however long earlier ones take (an open-loop load).</summary>
internal static class SteadyRate
{
    /// <summary>Starts <paramref name="write"/>(i) at i / <paramref name="perSecond"/> seconds for i in [0, count) and waits for all.</summary>
    public static async Task RunAsync(int count, int perSecond, Func<int, Task> write)
    {
        var pending = new List<Task>(count);
        var interval = TimeSpan.FromSeconds(1.0 / perSecond);
        var steady = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var due = interval * i;
            if (steady.Elapsed < due)
            {
                await Task.Delay(due - steady.Elapsed);
            }

            var index = i;
            pending.Add(Task.Run(() => write(index)));
        }

        await Task.WhenAll(pending);
    }
}

/// <summary>
/// Waits (at most 30 s) until a process is quiet: under a tenth of a core busy over one second. After a warm-up, tiered
/// compilation goes on recompiling hot methods in the background for seconds; a run measured during that pays for the
/// JIT, which a process serving steadily does not. Returns the share of a core last seen busy.
/// </summary>
internal static class Quiet
{
    public static async Task<double> SettleAsync(Func<TimeSpan> cpuTime)
    {
        var busy = 1.0;
        for (var second = 0; second < 30 && busy >= 0.1; second++)
        {
            var before = cpuTime();
            await Task.Delay(1000);
            busy = (cpuTime() - before).TotalSeconds;
        }

        return busy;
    }
}
