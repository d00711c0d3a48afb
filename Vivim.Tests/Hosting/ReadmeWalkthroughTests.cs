using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Vivim.Gateway.Hosting;
using Vivim.Hosting;
using Vivim.Tests.Support;

namespace Vivim.Tests.Hosting;

/// <summary>
/// The README's first commands, typed as written on a fresh copy of the repository: the node in one terminal, the demo
/// in another, both from the root, with nothing configured. Runs alone: the node uses the default ports.
/// </summary>
[Collection(DefaultPortsCollection.Name)]
public sealed partial class ReadmeWalkthroughTests
{
    private static readonly TimeSpan BuildAndStart = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task The_READMEs_node_and_demo_commands_work_as_written_on_a_fresh_copy()
    {
        var commands = FirstBashBlock(await File.ReadAllTextAsync(Repository.PathOf("README.md")));
        Assert.True(commands.Count == 3, "README.md's first ```bash block must hold three commands (node, demo, tests):\n" + string.Join('\n', commands));
        Assert.StartsWith("dotnet run --project Vivim.Gateway", commands[0], StringComparison.Ordinal);
        Assert.StartsWith("dotnet run --project Vivim.Cli -- demo", commands[1], StringComparison.Ordinal);
        Assert.StartsWith("bash .ci/run", commands[2], StringComparison.Ordinal);
        foreach (var (port, what) in new[] { (8080, "the API"), (11111, "the silo"), (30000, "the Orleans gateway"), (4001, "libp2p") })
        {
            Assert.True(ListenPorts.IsFree(IPAddress.Loopback, port), $"Port {port} ({what}) is taken: this test runs the README's node on the default ports; stop what listens there.");
        }

        var copy = Directory.CreateTempSubdirectory("vivim-readme-").FullName;
        try
        {
            await CopyTrackedFilesAsync(Repository.Root, copy);
            var home = Directory.CreateDirectory(Path.Combine(copy, ".test-home")).FullName;

            await using var node = ShellCommand.Start(commands[0], copy, home);
            await node.WaitForOutputAsync(NodeReadyNotice.Heading, BuildAndStart);
            Assert.True(File.Exists(Path.Combine(copy, "data", "operator.key")), "the node keeps its data in data/ under the directory it was started from:\n" + node.Output);

            await using var demo = ShellCommand.Start(commands[1], copy, home);
            var demoExit = await demo.WaitForExitAsync(BuildAndStart);
            Assert.True(demoExit == 0 && demo.Output.Contains("sync:completed", StringComparison.Ordinal), $"'{commands[1]}' exited {demoExit}:\n{demo.Output}\n--- node:\n{node.Output}");

            await node.TerminateAsync();
            Assert.Equal(0, await node.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    /// <summary>The command lines of the first <c>```bash</c> block, as written (a trailing <c># comment</c> included).</summary>
    private static List<string> FirstBashBlock(string readme)
    {
        var block = BashBlock().Match(readme);
        Assert.True(block.Success, "README.md has no ```bash block");
        return [.. block.Groups["body"].Value.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];
    }

    /// <summary>What a fresh clone holds: the files git tracks, without build output.</summary>
    private static async Task CopyTrackedFilesAsync(string root, string target)
    {
        var git = new ProcessStartInfo("git", ["-C", root, "ls-files", "-z"]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(git)!;
        var listing = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, "git ls-files failed in " + root);
        var files = listing.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("Vivim.sln", files);
        foreach (var file in files)
        {
            var source = Path.Combine(root, file);
            if (!File.Exists(source))
            {
                continue; // deleted in the working tree, not yet committed
            }

            var destination = Path.Combine(target, file);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(source, destination);
        }
    }

    [GeneratedRegex("^```bash\\n(?<body>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex BashBlock();
}
