using System.Diagnostics;

namespace Vivim.Tests.Support;

/// <summary>The scripts of <c>infra/dev/</c> that start and stop throwaway servers (PostgreSQL, Azurite) for tests.</summary>
public static class DevScript
{
    /// <summary>Runs <c>infra/dev/<paramref name="script"/></c>; returns its standard output, or throws with its error output.</summary>
    public static async Task<string> RunAsync(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Repository.PathOf("infra", "dev", script));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start infra/dev/{script}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"infra/dev/{script} {string.Join(' ', arguments)} failed: {await error}");
        }

        return await output;
    }
}
