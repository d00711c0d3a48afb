using System.Diagnostics;

namespace Vivim.Benchmarks.Storage;

/// <summary>
/// The machine's own durable-write latency: a 4 KiB write followed by a flush to disk (fsync), repeated, in the
/// directory that holds the database. A durable commit waits for at least one of these, so its p50 and p99 are the
/// physical floor under the commit latency that the benchmarks print next to it.
/// </summary>
internal static class FsyncProbe
{
    public static string Measure(string directory, int count = 200)
    {
        var path = Path.Combine(directory, "vivim-fsync-probe-" + Guid.NewGuid().ToString("N")[..12]);
        var block = new byte[4096];
        var latencies = new double[count];
        try
        {
            using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None);
            for (var i = 0; i < count; i++)
            {
                // Cycling over a few blocks, as a WAL overwrites its own pages between checkpoints.
                file.Position = i % 16 * block.Length;
                file.Write(block);
                var started = Stopwatch.GetTimestamp();
                file.Flush(flushToDisk: true);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }
        finally
        {
            File.Delete(path);
        }

        Array.Sort(latencies);
        return $"fsync of a 4 KiB write in {directory}: p50 {latencies[count / 2]:0.00} ms, p99 {latencies[(int)(count * 0.99)]:0.00} ms ({count} syncs)";
    }
}
