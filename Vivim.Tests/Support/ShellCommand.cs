using System.Diagnostics;
using System.Text;

namespace Vivim.Tests.Support;

/// <summary>A command line run by bash in a directory, as a person would type it, with its output kept.</summary>
public sealed class ShellCommand : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ShellCommand(Process process) => _process = process;

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

    public static ShellCommand Start(string commandLine, string directory, string home)
    {
        var start = new ProcessStartInfo("bash", ["-c", commandLine])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };

        // Nothing configured: none of the settings the tests or the developer's shell may carry.
        foreach (var name in start.Environment.Keys.ToList())
        {
            if (name.StartsWith("VIVIM", StringComparison.OrdinalIgnoreCase) || name.StartsWith("ASPNETCORE_", StringComparison.Ordinal)
                || name.StartsWith("Logging__", StringComparison.Ordinal) || name is "DOTNET_ENVIRONMENT" or "Configuration")
            {
                start.Environment.Remove(name);
            }
        }

        start.Environment["VIVIM_HOME"] = home;

        // No build servers outliving the command (they would inherit its output pipes).
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        var process = new Process { StartInfo = start };
        var command = new ShellCommand(process);
        process.OutputDataReceived += (_, e) => command.Append(e.Data);
        process.ErrorDataReceived += (_, e) => command.Append(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return command;
    }

    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            Assert.False(_process.HasExited, $"exited {(_process.HasExited ? _process.ExitCode : 0)} before writing '{text}':\n{Output}");
            Assert.True(DateTime.UtcNow < deadline, $"never wrote '{text}' within {timeout}:\n{Output}");
            await Task.Delay(250);
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"did not exit within {timeout}:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>SIGTERM to the command (bash runs a lone command in its own place, so this is <c>dotnet run</c>).</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
