using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Vivim.Benchmarks.Storage;

/// <summary>
/// CPU time spent by this process and by the PostgreSQL backends serving the benchmark's database (read from
/// /proc; background writers are not counted). On a machine shared with other work, CPU per update is the figure
/// that the neighbours disturb least.
/// </summary>
internal sealed class CpuMeter(BenchDatabase database)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    public async Task<(TimeSpan Process, Dictionary<int, long> Backends)> SampleAsync()
    {
        var process = Process.GetCurrentProcess().TotalProcessorTime;
        var backends = new Dictionary<int, long>();
        if (database.DataSource is { } dataSource && OperatingSystem.IsLinux())
        {
            await using var command = dataSource.CreateCommand("SELECT pid FROM pg_stat_activity WHERE datname = current_database()");
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var pid = reader.GetInt32(0);
                if (Ticks(pid) is { } ticks)
                {
                    backends[pid] = ticks;
                }
            }
        }

        return (process, backends);
    }

    public async Task<IngestRun> MeasureAsync(Func<Task<IngestRun>> run)
    {
        var (result, process, server) = await MeasureAsync<IngestRun>(run);
        return result with { ProcessCpu = process, ServerCpu = server };
    }

    /// <summary>Runs <paramref name="run"/>; the CPU this process and the database's backends used meanwhile.</summary>
    public async Task<(T Result, TimeSpan Process, TimeSpan? Server)> MeasureAsync<T>(Func<Task<T>> run)
    {
        var before = await SampleAsync();
        var result = await run();
        var after = await SampleAsync();
        var server = after.Backends.Sum(b => b.Value - before.Backends.GetValueOrDefault(b.Key));
        return (result, after.Process - before.Process, database.DataSource is null ? null : TimeSpan.FromSeconds(server / TicksPerSecond));
    }

    /// <summary>"X us here + Y us in PostgreSQL" per item.</summary>
    public static string PerItem(TimeSpan process, TimeSpan? server, long items) =>
        $"{process.TotalMicroseconds / items:0} us here" + (server is { } s ? $" + {s.TotalMicroseconds / items:0} us in PostgreSQL" : string.Empty);

    private static long? Ticks(int pid)
    {
        try
        {
            // Fields after the parenthesized command name: utime and stime are the 12th and 13th.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
