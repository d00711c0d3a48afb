using System.Diagnostics;

namespace Vivim.Tests.Cli;

/// <summary>Runs the built <c>vivim.dll</c> once as a process, with its own VIVIM_HOME and working directory, and collects what it printed.</summary>
internal static partial class VivimRun
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";

        /// <summary>
        /// The run failed with <paramref name="exitCode"/> and one stderr line holding every word a user needs, none of
        /// it a .NET type name, a developer's parameter note or a stack trace. Returns the line.
        /// </summary>
        public string AssertErrorLine(int exitCode, params string[] words)
        {
            Assert.True(ExitCode == exitCode, $"expected exit {exitCode}\n{this}");
            var lines = Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.True(lines.Length == 1, $"expected one stderr line\n{this}");
            foreach (var word in words)
            {
                Assert.True(lines[0].Contains(word, StringComparison.Ordinal), $"missing '{word}' in\n{this}");
            }

            Assert.DoesNotMatch(DeveloperText(), Stdout + Stderr);
            return lines[0];
        }
    }

    /// <summary>What only a developer reads: System.Nullable`1[System.Int32], "(Parameter 'x')", "   at Foo.Bar()", "SomeException:".</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"System\.[A-Z]\w*|`\d|\(Parameter '|^\s+at \S+\(|\w+Exception\b", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex DeveloperText();

    public static async Task<Result> RunAsync(string home, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(VivimProcess.DllPath);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var name in new[] { "VIVIM_GATEWAY", "VIVIM_OPERATOR_KEY", "VIVIM_API_KEY" })
        {
            start.Environment.Remove(name);
        }

        start.Environment["VIVIM_HOME"] = home;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"vivim {string.Join(' ', args)} did not finish: {await stdout}{await stderr}");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
