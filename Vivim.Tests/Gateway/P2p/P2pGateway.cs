using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.P2p;
using Vivim.Tests.Support;

namespace Vivim.Tests.Gateway.P2p;

/// <summary>The all-in-one gateway in this process with a libp2p peer and this work's ownership and discovery.</summary>
internal sealed class P2pGateway : IAsyncDisposable
{
    private readonly string _dataPath;

    private P2pGateway(WebApplication app, Uri baseAddress, string dataPath)
    {
        App = app;
        BaseAddress = baseAddress;
        _dataPath = dataPath;
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public static async Task<P2pGateway> StartAsync(GatewayPeer peer, params string[] settings)
    {
        var port = FreePort.Next();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        var dataPath = Path.Combine(Path.GetTempPath(), "vivim-p2p-" + Guid.NewGuid().ToString("N"));
        var app = GatewayApp.Create([.. GatewayFixture.Arguments(baseAddress, dataPath, $"p2p-tests-{port}"), .. settings], builder =>
        {
            builder.Services.AddSingleton(peer);
            builder.Services.AddVivimP2pOwnership(builder.Configuration);
        });
        await app.StartAsync();
        return new P2pGateway(app, baseAddress, dataPath);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(_dataPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
