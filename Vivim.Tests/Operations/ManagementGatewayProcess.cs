using System.Globalization;
using Vivim.Tests.Support;

namespace Vivim.Tests.Operations;

/// <summary>
/// A <c>Vivim.Gateway</c> process (the embedded node) with its management port on a free loopback port, the operator
/// key required there, and the Orleans dashboard on.
/// </summary>
public sealed class ManagementGatewayProcess : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "vivim-management-" + Guid.NewGuid().ToString("N")[..12]);
    private HostProcess? _process;

    public Uri BaseAddress { get; } = new("http://127.0.0.1:" + FreePort.Next().ToString(CultureInfo.InvariantCulture));

    public Uri Management { get; } = new("http://127.0.0.1:" + FreePort.Next().ToString(CultureInfo.InvariantCulture));

    public GatewayFixture Api => GatewayFixture.At(BaseAddress);

    public string Output => _process?.Output ?? string.Empty;

    public async Task InitializeAsync()
    {
        _process = HostProcess.Start(
            "Vivim.Gateway",
            [
                "--urls", BaseAddress.ToString(),
                "--Vivim:DataPath", _data,
                "--Vivim:SiloPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
                "--Vivim:GatewayPort", FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ],
            new Dictionary<string, string>
            {
                ["Vivim__Management__Urls"] = Management.ToString(),
                ["Vivim__Dashboard__Enabled"] = "true",
            },
            "gateway (management port)");
        await _process.WaitStartedAsync(TimeSpan.FromSeconds(90));
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
