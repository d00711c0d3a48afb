using System.Globalization;

namespace Vivim.Benchmarks.Gateway;

/// <summary>
/// The CPU time of the .NET runtime's background compiler in another process, seen through /proc: the threads the
/// runtime names ".NET Tiered Compilation Worker" (Linux keeps the first 15 characters of a thread's name). The worker
/// ends after a few idle seconds and a new one starts with the next compile, taking its CPU time out of /proc with it;
/// so each worker's time is sampled often and kept after it ended.
/// </summary>
internal sealed class RuntimeCompiler : IDisposable
{
    private const string ThreadName = ".NET Tiered Com";

    // utime and stime are in clock ticks of USER_HZ, which Linux fixes at 100 per second for user space.
    private const double TicksPerSecond = 100;

    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(200);

    private readonly string _tasks;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, long> _ticksByThread = [];
    private readonly Timer _timer;
    private long _endedTicks;
    private bool _seen;

    public RuntimeCompiler(int processId)
    {
        _tasks = $"/proc/{processId.ToString(CultureInfo.InvariantCulture)}/task";
        _timer = new Timer(_ => Sample(), null, TimeSpan.Zero, SampleInterval);
    }

    /// <summary>The workers' CPU time so far (user and system), or null while /proc has shown none.</summary>
    public TimeSpan? CpuTime
    {
        get
        {
            Sample();
            lock (_lock)
            {
                return _seen ? TimeSpan.FromSeconds((_endedTicks + _ticksByThread.Values.Sum()) / TicksPerSecond) : null;
            }
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Sample()
    {
        if (!Directory.Exists(_tasks))
        {
            return;
        }

        try
        {
            foreach (var task in Directory.EnumerateDirectories(_tasks))
            {
                if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith(ThreadName, StringComparison.Ordinal))
                {
                    continue;
                }

                // The fields after the name in parentheses (which may hold spaces): state is the first, utime the 12th, stime the 13th.
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                var thread = int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture);
                lock (_lock)
                {
                    // Fewer ticks under a known id: the worker ended and a new thread got its id.
                    if (_ticksByThread.TryGetValue(thread, out var known) && ticks < known)
                    {
                        _endedTicks += known;
                    }

                    _ticksByThread[thread] = ticks;
                    _seen = true;
                }
            }
        }
        catch (IOException)
        {
            // A thread or the process ended while being read: the next sample sees what is left.
        }
    }
}
