using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Metadata;
using Orleans.Storage;
using Vivim.Anchors;
using Vivim.Hosting;

namespace Vivim.Storage.Copy;

/// <summary>
/// Orleans' Azure grain storage exactly as a Vivim silo on the account configures it (tables, container, Table or
/// Blob per state), reached from a private single-silo host on loopback that activates no grain: Orleans' providers
/// only start inside a silo. States pass through as the bytes they were stored as (<see cref="RawGrainState"/>).
/// </summary>
public sealed class AzureGrainStateTarget : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly IGrainStorage _storage;

    private AzureGrainStateTarget(IHost host)
    {
        _host = host;
        _storage = host.Services.GetRequiredKeyedService<IGrainStorage>(VivimProviders.GrainState);
        var resolver = host.Services.GetRequiredService<GrainTypeResolver>();
        GrainTypes = StateOwners().ToDictionary(s => s.StateName, s => resolver.GetGrainType(s.Grain), StringComparer.Ordinal);
    }

    /// <summary>Each Vivim state name and the grain type whose records it names (string-keyed grains, the key being the record's).</summary>
    public IReadOnlyDictionary<string, GrainType> GrainTypes { get; }

    public static async Task<AzureGrainStateTarget> StartAsync(AzureStorageAccount account, string serviceId, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(FreeLoopbackPort(), FreeLoopbackPort(), serviceId: serviceId, clusterId: "vivim-copy-" + Guid.NewGuid().ToString("N")[..8]);
            silo.Configure<EndpointOptions>(o => o.AdvertisedIPAddress = IPAddress.Loopback);
            silo.AddVivimAzureGrainStorage(account, VivimProviders.GrainState, new RawGrainStateSerializer());
        });
        var host = builder.Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        return new AzureGrainStateTarget(host);
    }

    /// <summary>The state stored under <paramref name="stateName"/> for <paramref name="grainId"/>, with its ETag; null bytes when none.</summary>
    public async Task<(byte[]? Bytes, IGrainState<RawGrainState> State)> ReadAsync(string stateName, GrainId grainId)
    {
        var state = new GrainState<RawGrainState>();
        await _storage.ReadStateAsync(stateName, grainId, state).ConfigureAwait(false);
        return (state.RecordExists ? state.State?.Bytes : null, state);
    }

    /// <summary>Writes <paramref name="bytes"/> over what <see cref="ReadAsync"/> returned (its ETag guards the write).</summary>
    public Task WriteAsync(string stateName, GrainId grainId, IGrainState<RawGrainState> read, byte[] bytes)
    {
        read.State = new RawGrainState { Bytes = bytes };
        return _storage.WriteStateAsync(stateName, grainId, read);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        _host.Dispose();
    }

    private static IEnumerable<(string StateName, Type Grain)> StateOwners() =>
        typeof(AnchorStateGrain).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IGrainBase).IsAssignableFrom(t))
            .SelectMany(t => t.GetConstructors().SelectMany(c => c.GetParameters())
                .Select(p => p.GetCustomAttribute<PersistentStateAttribute>())
                .OfType<PersistentStateAttribute>()
                .Where(a => a.StorageName == VivimProviders.GrainState)
                .Select(a => (a.StateName, t)))
            .Distinct();

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
