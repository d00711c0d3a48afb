using System.Diagnostics;

namespace Vivim.Tests.Support;

/// <summary>Runs a script of the repository's JavaScript interop packages with the machine's Node.js.</summary>
public static class NodeScript
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>
    /// Runs <c>node script args…</c> in <paramref name="packageDir"/>. Fails (never skips) when the package's
    /// dependencies are not installed, naming the command that installs them.
    /// </summary>
    public static async Task<Result> RunAsync(string packageDir, string script, IEnumerable<string> args, TimeSpan timeout)
    {
        var modules = Path.Combine(packageDir, "node_modules");
        Assert.True(Directory.Exists(modules), $"JavaScript dependencies are missing: run `npm ci --prefix {Path.GetRelativePath(Repository.Root, packageDir)}` (the CI script does).");

        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = packageDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        using var cts = new CancellationTokenSource(timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {script} did not finish within {timeout}.");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
