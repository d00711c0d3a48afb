using System.Globalization;

namespace Vivim.Benchmarks.Gateway;

/// <summary>
/// The .NET runtime's background compiler in another process, seen through /proc: the thread the runtime names
/// ".NET Tiered Compilation Worker" (Linux keeps the first 15 characters of a thread's name).
/// </summary>
internal static class RuntimeCompiler
{
    private const string ThreadName = ".NET Tiered Com";

    // utime and stime are in clock ticks of USER_HZ, which Linux fixes at 100 per second for user space.
    private const double TicksPerSecond = 100;

    /// <summary>The worker's CPU time so far (user and system), or null when /proc does not show it.</summary>
    public static TimeSpan? CpuTime(int processId)
    {
        var tasks = $"/proc/{processId.ToString(CultureInfo.InvariantCulture)}/task";
        if (!Directory.Exists(tasks))
        {
            return null;
        }

        long ticks = 0;
        var found = false;
        foreach (var task in Directory.EnumerateDirectories(tasks))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith(ThreadName, StringComparison.Ordinal))
                {
                    continue;
                }

                // The fields after the name in parentheses (which may hold spaces): state is the first, utime the 12th, stime the 13th.
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                found = true;
            }
            catch (IOException)
            {
                // The thread ended between listing and reading: it has nothing more to add.
            }
        }

        return found ? TimeSpan.FromSeconds(ticks / TicksPerSecond) : null;
    }
}
