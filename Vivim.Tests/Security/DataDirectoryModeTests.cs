using System.Globalization;
using Vivim.Tests.Gateway;
using Vivim.Tests.Support;

namespace Vivim.Tests.Security;

/// <summary>
/// The embedded node's data directory (database and keys) is its owner's alone: 0700, every file 0600, SQLite's WAL
/// and shared-memory files included; a directory left looser (by an older build, or by hand) is tightened at start.
/// </summary>
public sealed class DataDirectoryModeTests
{
    private const UnixFileMode OwnerDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const string TightenedWarning = "was readable by other users";

    [Fact]
    public async Task The_data_directory_and_every_file_in_it_are_owner_only_and_a_loose_one_is_tightened_at_start()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // ACLs there, not modes
        }

        var data = Path.Combine(Path.GetTempPath(), "vivim-modes-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            await using (var node = await StartAsync(data))
            {
                await WriteAsync(node.BaseAddress);
                AssertOwnerOnly(data);
                Assert.DoesNotContain(TightenedWarning, node.Process.Output, StringComparison.Ordinal);
                await node.Process.TerminateAsync();
                Assert.Equal(0, await node.Process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            }

            // What an older build left: a world-readable directory and database.
            File.SetUnixFileMode(data, OwnerDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            foreach (var file in Directory.EnumerateFiles(data))
            {
                File.SetUnixFileMode(file, OwnerFile | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }

            await using (var node = await StartAsync(data))
            {
                await WriteAsync(node.BaseAddress);
                AssertOwnerOnly(data);
                var output = node.Process.Output;
                var first = output.IndexOf(TightenedWarning, StringComparison.Ordinal);
                Assert.True(first >= 0, output);
                Assert.Equal(-1, output.IndexOf(TightenedWarning, first + 1, StringComparison.Ordinal));
            }
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void AssertOwnerOnly(string data)
    {
        Assert.Equal(OwnerDirectory, File.GetUnixFileMode(data));
        var files = Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        Assert.Contains("vivim.db-wal", files);
        Assert.Contains("vivim.db-shm", files);
        Assert.Contains("key-encryption.key", files);
        Assert.All(Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories), f => Assert.True(File.GetUnixFileMode(f) == OwnerFile, $"{Path.GetFileName(f)} is {File.GetUnixFileMode(f)}"));
    }

    /// <summary>Writes a document, so that the database, its WAL and shared memory all exist.</summary>
    private static async Task WriteAsync(Uri baseAddress)
    {
        var gateway = GatewayFixture.At(baseAddress);
        var (_, apiKey) = await gateway.CreateTenantAsync("modes");
        var did = await gateway.CreateExitNodeAsync(apiKey);
        await GatewayTestKit.WriteAsync(gateway, apiKey, did, ("memoryIndex/a", "1"));
    }

    private static async Task<Node> StartAsync(string data)
    {
        var baseAddress = new Uri("http://127.0.0.1:" + FreePort.Next().ToString(CultureInfo.InvariantCulture));
        string[] arguments =
        [
            "--urls", baseAddress.ToString(),
            "--Vivim:DataPath", data,
            "--Vivim:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
            "--Vivim:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
        ];
        var process = HostProcess.Start("Vivim.Gateway", arguments, name: "gateway");
        await process.WaitStartedAsync(TimeSpan.FromSeconds(90));
        return new Node(process, baseAddress);
    }

    private sealed record Node(HostProcess Process, Uri BaseAddress) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }
}
