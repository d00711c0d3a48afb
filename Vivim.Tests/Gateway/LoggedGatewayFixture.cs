using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Vivim.Gateway.Hosting;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway;

/// <summary>
/// An all-in-one gateway on real Kestrel that logs everything down to Debug (ASP.NET Core's categories included) into
/// <see cref="Log"/>, with a one-second hello timeout.
/// </summary>
public sealed class LoggedGatewayFixture : IAsyncLifetime
{
    public static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(1);

    private readonly string _dataPath = Path.Combine(Path.GetTempPath(), "vivim-logged-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _app;

    public CapturedLog Log { get; } = new();

    /// <summary>The HTTP helpers, pointed at this gateway.</summary>
    public GatewayFixture Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var port = FreePort.Next();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        _app = GatewayApp.Create(
            [
                .. GatewayFixture.Arguments(baseAddress, _dataPath, $"logged-gateway-{port}"),
                $"--Vivim:Gateway:HelloTimeout={HelloTimeout}",
                "--Logging:LogLevel:Default=Debug",
                "--Logging:LogLevel:Microsoft=Debug", // the defaults name these categories, so Default alone does not reach them
                "--Logging:LogLevel:Microsoft.AspNetCore=Debug",
                "--Logging:LogLevel:Microsoft.Hosting=Debug",
                "--Logging:LogLevel:Vivim=Debug",
                "--Logging:LogLevel:Orleans=Information", // Orleans at Debug is a flood that slows the silo, and logs no URLs
            ],
            builder => builder.Logging.AddProvider(Log));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await _app.StartAsync(timeout.Token);
        Gateway = GatewayFixture.At(baseAddress);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        try
        {
            Directory.Delete(_dataPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
