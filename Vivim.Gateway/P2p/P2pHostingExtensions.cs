using Microsoft.Extensions.Options;
using Vivim.Gateway.P2p.Identity;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Storage.Schema;

namespace Vivim.Gateway.P2p;

/// <summary>Composition of the gateway silo's libp2p peer (<c>Vivim:P2p</c>); call after <c>AddVivimSilo</c>.</summary>
public static class P2pHostingExtensions
{
    /// <summary>
    /// Registers <see cref="GatewayPeerService"/> (hosted; starts after the silo), its options and identity store, and
    /// <see cref="GatewayPeer"/> (resolvable once the peer started). Invalid settings or a taken listen port fail here,
    /// before anything starts.
    /// </summary>
    /// <exception cref="OptionsValidationException"><c>Vivim:P2p</c> is invalid; the message names the key.</exception>
    /// <exception cref="PortInUseException">A listen port is taken.</exception>
    public static IHostApplicationBuilder AddVivimP2p(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var services = builder.Services;
        var storage = VivimStorageOptions.FromConfiguration(configuration);
        var defaultListen = storage.Provider == DatabaseKind.Sqlite ? P2pOptions.EmbeddedListen : P2pOptions.ClusterListen;

        services.AddOptions<P2pOptions>()
            .Bind(configuration.GetSection(P2pOptions.Section))
            .PostConfigure(o =>
            {
                if (o.Listen.Count == 0)
                {
                    o.Listen.Add(defaultListen);
                }
            });
        services.AddSingleton<IValidateOptions<P2pOptions>, P2pOptionsValidator>();
        services.AddSingleton<GatewayPeerService>();
        services.AddHostedService(sp => sp.GetRequiredService<GatewayPeerService>());
        services.AddSingleton(sp => sp.GetRequiredService<GatewayPeerService>().Peer
            ?? throw new InvalidOperationException("The gateway's libp2p peer is not running (not started yet, or Vivim:P2p:Enabled=false): await GatewayPeerService.Started instead."));
        services.AddSingleton<IPeerIdentityStore>(sp =>
        {
            var location = sp.GetRequiredService<StorageLocation>();
            var vault = sp.GetRequiredService<KeyVault>();
            if (location.Provider == DatabaseKind.Sqlite)
            {
                return new FilePeerIdentityStore(location, vault);
            }

            var silo = configuration.GetSection(VivimSiloOptions.Section).Get<VivimSiloOptions>() ?? new VivimSiloOptions();
            return location.Provider switch
            {
                DatabaseKind.PostgreSql => new PostgreSqlPeerIdentityStore(location, vault, silo.StableSiloName),
                DatabaseKind.Azure => new AzureTablePeerIdentityStore(
                    location.Azure!.Tables.GetTableClient(location.Azure.TableName(AzureStorageAccount.PeerIdentitiesTable)), vault, silo.StableSiloName),
                _ => throw new InvalidOperationException($"No libp2p identity store for {location.Provider} storage."),
            };
        });

        // Checked now, as the API's and the silo's ports are: one clear line instead of a failed start.
        var options = configuration.GetSection(P2pOptions.Section).Get<P2pOptions>() ?? new P2pOptions();
        if (options.Listen.Count == 0)
        {
            options.Listen.Add(defaultListen);
        }

        var validation = new P2pOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(P2pOptions.Section, typeof(P2pOptions), validation.Failures);
        }

        if (options.Enabled)
        {
            P2pListenAddresses.EnsureFree(options.Listen);
        }

        return builder;
    }
}
