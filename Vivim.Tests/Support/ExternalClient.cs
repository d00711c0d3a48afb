using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Vivim.Anchors;
using Vivim.Feeds;
using Vivim.Security;

namespace Vivim.Tests.Support;

/// <summary>An Orleans client of a cluster that runs in other processes (the grains' client API, as an operator tool or a test uses it).</summary>
public sealed class ExternalClient : IAsyncDisposable
{
    private readonly IHost _host;

    private ExternalClient(IHost host) => _host = host;

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    /// <summary>Connects, retrying while no gateway answers yet; calls time out after <paramref name="responseTimeout"/> (10 s).</summary>
    public static async Task<ExternalClient> ConnectAsync(Action<IClientBuilder> clustering, TimeSpan timeout, TimeSpan? responseTimeout = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.UseOrleansClient(client =>
            {
                clustering(client);
                client.AddMemoryStreams(DidStreams.Provider);
                client.AddVivimOperatorCredentials(ClusterFixture.TestClusterSecret);

                // Calls caught by a SIGKILL fail in seconds rather than the default 30 s, so retries fit the tests' budgets.
                client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = responseTimeout ?? TimeSpan.FromSeconds(10));
            });
            var host = builder.Build();
            try
            {
                await host.StartAsync();
                return new ExternalClient(host);
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                host.Dispose();
                await Task.Delay(250);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _host.StopAsync(stop.Token);
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
            // The cluster it talked to may be dead: nothing to close gracefully.
        }

        _host.Dispose();
    }
}
