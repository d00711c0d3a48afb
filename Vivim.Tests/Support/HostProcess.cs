using System.Diagnostics;
using System.Text;

namespace Vivim.Tests.Support;

/// <summary>
/// A Vivim host (Vivim.Gateway or Vivim.Silo) run as a separate process from this build's output, for tests about
/// processes: SIGKILL, restarts, several silos on one database. Its output is kept for failure messages.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private int _disposed;

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HostProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The process id, for reading what the kernel says about it (<c>/proc/&lt;id&gt;/status</c>).</summary>
    public int Id => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The configuration the tests build with (Debug or Release), read off the test assembly's folder.</summary>
    public static string BuildConfiguration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <param name="hostLogging">Keep the host's own default log levels instead of the tests' (which log "Application started").</param>
    public static HostProcess Start(string project, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? name = null, bool hostLogging = false)
    {
        var assembly = Repository.PathOf(project, "bin", BuildConfiguration, "net10.0", project + ".dll");
        if (!File.Exists(assembly))
        {
            throw new InvalidOperationException($"{assembly} is missing: build the solution (dotnet build Vivim.sln -c {BuildConfiguration}).");
        }

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        start.ArgumentList.Add(assembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["Vivim__ClusterSecret"] = Convert.ToBase64String(ClusterFixture.TestClusterSecret);
        start.Environment["Vivim__OperatorKey"] = GatewayFixture.TestOperatorKey;
        start.Environment["Logging__Console__FormatterName"] = "simple";

        // No management port unless a test asks for one: the embedded default (localhost:9464) is one port for all.
        start.Environment["Vivim__Management__Urls"] = "none";

        // A gateway's libp2p peer on a free port, never the default 4001 that parallel tests would share.
        start.Environment["Vivim__P2p__Listen__0"] = "/ip4/127.0.0.1/tcp/0";
        if (!hostLogging)
        {
            start.Environment["Logging__LogLevel__Default"] = "Warning";
            start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
            start.Environment["Logging__LogLevel__Vivim"] = "Information";
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return Launch(name ?? project, start);
    }

    /// <summary>Starts <paramref name="start"/> (output redirected) and keeps what it writes.</summary>
    public static HostProcess Launch(string name, ProcessStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var host = new HostProcess(name, process);
        process.OutputDataReceived += (_, e) => host.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => host.OnLine(e.Data);
        process.Exited += (_, _) => host._started.TrySetException(new InvalidOperationException($"{host.Name} exited with {process.ExitCode} before it started:\n{host.Output}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Completes once the host says every hosted service (the silo included) has started.</summary>
    public async Task WaitStartedAsync(TimeSpan timeout)
    {
        try
        {
            await _started.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name} did not start within {timeout}:\n{Output}");
        }
    }

    /// <summary>Waits until the output contains <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                if (!Output.Contains(text, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before it wrote '{text}':\n{Output}");
                }

                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Name} never wrote '{text}':\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits for a command-style process (e.g. <c>migrate</c>) to end; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout}:\n{Output}");
        }

        // The exit event can precede the last lines of output.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>SIGTERM, as Kubernetes stops a pod: the host drains and leaves the cluster.</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
    }

    /// <summary>SIGKILL: no shutdown code runs, as when a node loses power or is OOM-killed.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>Kills the process if it runs; a second call (the test's and its cluster's) does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await KillAsync();
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (line.Contains("Application started", StringComparison.Ordinal))
        {
            _started.TrySetResult();
        }
    }
}
