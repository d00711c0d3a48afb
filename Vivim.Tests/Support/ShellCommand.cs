using System.Diagnostics;

namespace Vivim.Tests.Support;

/// <summary>A command line run by bash in a directory, as a person would type it there, with nothing configured.</summary>
public static class ShellCommand
{
    /// <summary>
    /// Starts <paramref name="commandLine"/>; bash runs a lone command in its own place, so the process signalled by
    /// <see cref="HostProcess.TerminateAsync"/> is the command itself.
    /// </summary>
    public static HostProcess Start(string commandLine, string directory, string home)
    {
        var start = new ProcessStartInfo("bash", ["-c", commandLine])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // None of the settings the tests or the developer's shell may carry.
        foreach (var name in start.Environment.Keys.ToList())
        {
            if (name.StartsWith("VIVIM", StringComparison.OrdinalIgnoreCase) || name.StartsWith("ASPNETCORE_", StringComparison.Ordinal)
                || name.StartsWith("Logging__", StringComparison.Ordinal) || name is "DOTNET_ENVIRONMENT" or "Configuration")
            {
                start.Environment.Remove(name);
            }
        }

        start.Environment["VIVIM_HOME"] = home;

        // No build servers outliving the command: they would inherit its output pipes.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return HostProcess.Launch(commandLine, start);
    }
}
