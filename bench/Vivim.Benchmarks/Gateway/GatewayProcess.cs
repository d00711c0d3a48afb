using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Vivim.Benchmarks.Gateway;

/// <summary>
/// The product's all-in-one node (<c>Vivim.Gateway</c>, Release build) as its own OS process on loopback: Kestrel, the
/// API, the silo and embedded SQLite in a temporary directory. A load generator then pays what a real client pays —
/// sockets, HTTP parsing, another process's scheduling — which an in-process host would hide. The process is killed on
/// dispose (also when the benchmark fails or is interrupted); its output goes to a log file that is kept on failure.
/// </summary>
internal sealed class GatewayProcess : IAsyncDisposable
{
    private const string Configuration = "Release";
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly string _directory;
    private readonly PosixSignalRegistration[] _onSignals;
    private readonly EventHandler _onExit;
    private readonly RuntimeCompiler _compiler;
    private int _disposed;

    private GatewayProcess(Process process, StreamWriter log, string directory, Uri baseAddress, string operatorKey)
    {
        _process = process;
        _log = log;
        _directory = directory;
        BaseAddress = baseAddress;
        OperatorKey = operatorKey;

        // Ctrl+C, kill or an early exit of the benchmark must not leave a gateway behind holding ports and a CPU. The
        // signals are not cancelled: this process still ends as it would have.
        _onSignals = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGQUIT, PosixSignal.SIGHUP }.Select(signal => PosixSignalRegistration.Create(signal, _ => Abandon()))];
        _onExit = (_, _) => Abandon();
        _compiler = new RuntimeCompiler(process.Id);
        AppDomain.CurrentDomain.ProcessExit += _onExit;
    }

    public Uri BaseAddress { get; }

    public string OperatorKey { get; }

    public string LogPath => Path.Combine(_directory, "gateway.log");

    /// <summary>CPU time the gateway process has used so far (all its threads), to tell which side of a run was busy.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>
    /// Bytes the gateway has had written to storage so far (<c>write_bytes</c> of <c>/proc/&lt;pid&gt;/io</c>: its files'
    /// pages as they reach the block layer, the log's WAL and checkpoints included); null where there is none to read.
    /// </summary>
    public long? StorageWrittenBytes
    {
        get
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{_process.Id}/io"))
                {
                    if (line.StartsWith("write_bytes:", StringComparison.Ordinal))
                    {
                        return long.Parse(line.AsSpan("write_bytes:".Length).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }

            return null;
        }
    }

    /// <summary>
    /// CPU time the runtime's tiered-compilation worker of the gateway has used so far (it recompiles hot methods with
    /// optimizations, off the request threads), read from /proc; null where there is none to read (not Linux).
    /// </summary>
    public TimeSpan? CompilerCpuTime => _compiler.CpuTime;

    /// <summary>
    /// Runs <paramref name="round"/> at least <paramref name="minRounds"/> times, then more while the runtime's background
    /// compiler still takes over 2 % of a round's CPU (up to 60 rounds in all): on a busy machine it fell behind, and
    /// after ten rounds it still took a tenth to a quarter of the gateway's CPU in the measured phase. Returns the rounds
    /// run and the compiler's share of the gateway's CPU in the last one.
    /// </summary>
    public async Task<(int Rounds, double? CompilerShare)> WarmUpAsync(int minRounds, Func<int, Task> round)
    {
        const double quietShare = 0.02;
        const int maxRounds = 60;
        var rounds = 0;
        while (true)
        {
            var compiler = CompilerCpuTime;
            var total = CpuTime;
            await round(rounds);
            rounds++;
            var share = CompilerShareSince(compiler, total);
            if (rounds >= maxRounds || (rounds >= minRounds && share is null or < quietShare))
            {
                return (rounds, share);
            }
        }
    }

    /// <summary>The compiler's share of the gateway's CPU since the two readings, or null where the compiler cannot be seen.</summary>
    public double? CompilerShareSince(TimeSpan? compilerBefore, TimeSpan gatewayBefore)
    {
        var compiler = CompilerCpuTime - compilerBefore;
        var total = CpuTime - gatewayBefore;
        return compiler is { } used && total > TimeSpan.Zero ? used / total : null;
    }

    public static string FormatShare(double? share) => share is { } known ? known.ToString("P0", System.Globalization.CultureInfo.InvariantCulture) : "(not visible)";

    /// <summary>Waits until the gateway is quiet (see <see cref="Quiet.SettleAsync"/>).</summary>
    public Task<double> SettleAsync() => Quiet.SettleAsync(() => CpuTime);

    /// <summary>Keeps the temporary directory (data and log) after dispose, so a failure can be looked into.</summary>
    public bool KeepFiles { get; set; }

    /// <summary>
    /// Starts the gateway with <paramref name="settings"/> as environment variables (<c>Vivim__RateLimits__…</c>) and
    /// waits until <c>/health/ready</c> answers. The rest of this process's environment is inherited, so another
    /// <c>Vivim__…</c> variable set for the benchmark reaches the gateway too (to try a setting).
    /// </summary>
    public static async Task<GatewayProcess> StartAsync(IReadOnlyDictionary<string, string> settings, TimeSpan timeout)
    {
        var assembly = GatewayAssembly();
        var directory = Path.Combine(Path.GetTempPath(), "vivim-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var port = FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        var operatorKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        start.ArgumentList.Add(assembly);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(baseAddress.ToString());
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["DOTNET_gcServer"] = "1", // as deployed (the host's runtimeconfig says so too)
            ["Vivim__DataPath"] = Path.Combine(directory, "data"),
            ["Vivim__SiloPort"] = FreePort().ToString(CultureInfo.InvariantCulture),
            ["Vivim__GatewayPort"] = FreePort().ToString(CultureInfo.InvariantCulture),
            ["Vivim__P2p__Listen__0"] = "/ip4/127.0.0.1/tcp/0",
            ["Vivim__ClusterId"] = "bench-" + port.ToString(CultureInfo.InvariantCulture),
            ["Vivim__ClusterSecret"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Vivim__OperatorKey"] = operatorKey,
            // The embedded node's management port brings the Orleans dashboard, whose grain-call profiler is not the
            // path measured here (gateway-ingest-telemetry measures it as a variant of its own).
            ["Vivim__Management__Urls"] = "none",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var log = new StreamWriter(Path.Combine(directory, "gateway.log")) { AutoFlush = true };
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var gateway = new GatewayProcess(process, log, directory, baseAddress, operatorKey);
        try
        {
            await gateway.WaitReadyAsync(timeout);
            return gateway;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            gateway.KeepFiles = true;
            await gateway.DisposeAsync();
            throw new InvalidOperationException($"{e.Message} Gateway log: {gateway.LogPath}", e);
        }
    }

    /// <summary>
    /// Starts a gateway with <paramref name="settings"/>, runs <paramref name="load"/> against it and stops it. A failure
    /// is printed with the gateway's log path (the log is kept) and gives exit code 1.
    /// </summary>
    public static async Task<int> RunAsync(string name, IReadOnlyDictionary<string, string> settings, Func<GatewayProcess, Task> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        var clock = Stopwatch.StartNew();
        GatewayProcess gateway;
        try
        {
            gateway = await StartAsync(settings, TimeSpan.FromMinutes(2));
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"{name}: {e.Message}");
            return 1;
        }

        await using (gateway)
        {
            Console.WriteLine($"Gateway process {gateway._process.Id} at {gateway.BaseAddress} ready in {clock.Elapsed.TotalSeconds:0.0} s");
            try
            {
                await load(gateway);
                return 0;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                gateway.KeepFiles = true;
                Console.Error.WriteLine($"{name} failed: {e}");
                Console.Error.WriteLine($"Gateway log: {gateway.LogPath}");
                return 1;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Kill();
        await _process.WaitForExitAsync();
        _compiler.Dispose();
        foreach (var registration in _onSignals)
        {
            registration.Dispose();
        }

        AppDomain.CurrentDomain.ProcessExit -= _onExit;
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }

        if (!KeepFiles)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // SQLite may still be closing its files; the directory is in /tmp.
            }
        }
    }

    /// <summary>This process is ending without disposing: the gateway goes, and its files unless they are kept.</summary>
    private void Abandon()
    {
        Kill();
        try
        {
            if (_process.WaitForExit(TimeSpan.FromSeconds(5)) && !KeepFiles)
            {
                Directory.Delete(_directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            // Disposed already, or files still busy: what is left is in /tmp.
        }
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Not started or already gone.
        }
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The gateway exited with {_process.ExitCode} before it was ready.");
            }

            try
            {
                using var response = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Listening but not answering yet.
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"The gateway was not ready within {timeout.TotalSeconds:0} s.");
            }

            await Task.Delay(200);
        }
    }

    private static void Append(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output after dispose (the process's last words while it was killed).
            }
        }
    }

    /// <summary>Why the gateway cannot be started (not built, or no repository around this build), or null when it can.</summary>
    public static string? MissingGateway()
    {
        try
        {
            GatewayAssembly();
            return null;
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
    }

    /// <summary>The Release build of the gateway in this repository (the benchmark runs from the repository's bench folder).</summary>
    private static string GatewayAssembly()
    {
        var root = RepositoryRoot() ?? throw new InvalidOperationException("Cannot find the repository root (the folder holding Vivim.sln) above " + AppContext.BaseDirectory);
        var assembly = Path.Combine(root, "Vivim.Gateway", "bin", Configuration, "net10.0", "Vivim.Gateway.dll");
        return File.Exists(assembly)
            ? assembly
            : throw new InvalidOperationException($"{assembly} is missing: build it first with `dotnet build -c {Configuration} Vivim.Gateway` in {root}.");
    }

    private static string? RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Vivim.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        return null;
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
