using System.Globalization;

namespace Vivim.Tests.Support;

/// <summary>
/// An Azurite of a test's own (started with <c>infra/dev/azurite.sh</c> on free ports and a temporary location), for
/// tests that stop the storage and start it again on the same ports and data.
/// </summary>
public sealed class PrivateAzurite : IAsyncDisposable
{
    private readonly string _directory;

    private PrivateAzurite(string directory, int blobPort, string connectionString)
    {
        _directory = directory;
        BlobPort = blobPort;
        ConnectionString = connectionString;
    }

    /// <summary>The blob service's port; queue and table follow it.</summary>
    public int BlobPort { get; }

    public int TablePort => BlobPort + 2;

    /// <summary>The explicit devstoreaccount1 connection string.</summary>
    public string ConnectionString { get; }

    public static async Task<PrivateAzurite> StartAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "vivim-azurite-" + Guid.NewGuid().ToString("N")[..12]);
        var port = FreePort.NextRun(3);
        var connectionString = (await DevScript.RunAsync("azurite.sh", "start", directory, port.ToString(CultureInfo.InvariantCulture))).Trim();
        return new PrivateAzurite(directory, port, connectionString);
    }

    public Task StopAsync() => DevScript.RunAsync("azurite.sh", "stop", _directory);

    public Task StartAgainAsync() => DevScript.RunAsync("azurite.sh", "start", _directory, BlobPort.ToString(CultureInfo.InvariantCulture));

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
