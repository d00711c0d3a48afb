using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace Vivim.Tests.Infrastructure;

/// <summary>
/// The Bicep CLI from the NuGet package <c>Azure.Bicep.CommandLine.linux-x64</c>, which restore downloads for this
/// project (a <c>PackageDownload</c> in Vivim.Tests.csproj): no network, no global install.
/// </summary>
internal static partial class BicepCli
{
    private const string PackageId = "azure.bicep.commandline.linux-x64";

    public static string ExecutablePath { get; } = Locate();

    /// <summary>Runs <c>bicep <paramref name="arguments"/></c> in <paramref name="directory"/> with <paramref name="environment"/> added.</summary>
    public static async Task<BicepRun> RunAsync(string directory, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(ExecutablePath)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {ExecutablePath}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish within 3 minutes.");
        }

        return new BicepRun("bicep " + string.Join(' ', arguments), process.ExitCode, await output + await errors);
    }

    private static string Locate()
    {
        var metadata = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
        var version = metadata.GetValueOrDefault("BicepCliVersion") ?? throw new InvalidOperationException("Vivim.Tests.csproj records no BicepCliVersion.");
        var roots = new[]
        {
            metadata.GetValueOrDefault("NuGetPackageRoot"),
            Environment.GetEnvironmentVariable("NUGET_PACKAGES"),
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        };
        foreach (var root in roots.Where(r => !string.IsNullOrEmpty(r)))
        {
            var path = Path.Combine(root!, PackageId, version, "tools", "bicep");
            if (File.Exists(path))
            {
                // NuGet does not always keep the executable bit of a packed file (the package is linux-x64 only).
                var mode = OperatingSystem.IsWindows() ? UnixFileMode.UserExecute : File.GetUnixFileMode(path);
                if (!OperatingSystem.IsWindows() && !mode.HasFlag(UnixFileMode.UserExecute))
                {
                    File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute);
                }

                return path;
            }
        }

        throw new InvalidOperationException($"The Bicep CLI {version} is not in the NuGet packages folder ({string.Join(", ", roots.Where(r => !string.IsNullOrEmpty(r)))}): run 'dotnet restore Vivim.Tests'.");
    }

    [GeneratedRegex(@"\b(Warning|Error|Info) [A-Za-z0-9-]+:", RegexOptions.CultureInvariant)]
    internal static partial Regex DiagnosticPattern();
}

/// <summary>One run of the CLI: its command line, exit code and everything it printed.</summary>
public sealed record BicepRun(string CommandLine, int ExitCode, string Output)
{
    /// <summary>The compiler's and linter's diagnostics (errors, warnings, infos), one a line.</summary>
    public IReadOnlyList<string> Diagnostics =>
        [.. Output.Split('\n').Where(line => BicepCli.DiagnosticPattern().IsMatch(line)).Select(line => line.Trim())];

    public override string ToString()
    {
        var text = new StringBuilder(CommandLine).Append(" (exit ").Append(ExitCode).Append(')');
        return Output.Length == 0 ? text.ToString() : text.Append(":\n").Append(Output).ToString();
    }
}
