using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Hosting;
using Vivim.Anchors;
using Vivim.Clones;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Keys;
using Vivim.Security;
using Vivim.Storage;
using Vivim.Tenants;

namespace Vivim.Hosting;

/// <summary>Registers what Vivim's grains need in a silo. Storage for the update log (an <see cref="Storage.IUpdateLog"/>) and for grain state (<see cref="VivimProviders.GrainState"/>) is the host's choice.</summary>
public static class GrainHostingExtensions
{
    public static ISiloBuilder AddVivimGrains(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddOptions<KeyVaultOptions>().Bind(configuration.GetSection(KeyVaultOptions.Section));
        silo.Services.AddOptions<AnchorOptions>().Bind(configuration.GetSection(AnchorOptions.Section))
            .Validate(o => o.ListenerLease > TimeSpan.Zero, "Vivim:Anchors:ListenerLease must be positive: with none, anchors would never push a commit.")
            .Validate(o => o.MaxListeners > 0, "Vivim:Anchors:MaxListeners must be positive: with none, nobody could follow a DID.")
            .ValidateOnStart();
        silo.Services.AddOptions<ExitNodeOptions>().Bind(configuration.GetSection(ExitNodeOptions.Section));
        silo.Services.AddOptions<CloneOptions>().Bind(configuration.GetSection(CloneOptions.Section))
            .Validate(o => o.CursorFlushInterval > TimeSpan.Zero, "Vivim:Clones:CursorFlushInterval must be positive: it is the period of each clone grain's cursor timer.")
            .ValidateOnStart();
        silo.Services.AddOptions<TenantOptions>().Bind(configuration.GetSection(TenantOptions.Section))
            .Validate(o => o.ApiKeyLease >= TimeSpan.Zero && o.ApiKeyLease <= TimeSpan.FromMinutes(5), "Vivim:Tenants:ApiKeyLease is 0 to 5 minutes: revoking a key waits that long.")
            .ValidateOnStart();
        silo.Services.AddOptions<ClusterSecretOptions>().Bind(configuration.GetSection(ClusterSecretOptions.Section));
        silo.Services.AddSingleton<KeyVault>();
        silo.Services.AddSingleton<CallPrincipals>();

        // A host with a database lists hosted DIDs there (AddVivimUpdateLog); an in-process cluster shares one in memory.
        silo.Services.TryAddSingleton<IHostedDidDirectory, InMemoryHostedDidDirectory>();
        silo.Services.TryAddSingleton<IStorageErasure, DatabaseServerErasure>();

        // Spent nonces likewise: in the database when there is one, else in memory; expired ones go in bounded batches.
        silo.Services.TryAddSingleton<ISpentNonces, InMemoryNonceLedger>();
        silo.Services.AddOptions<NonceLedgerOptions>().Bind(configuration.GetSection(NonceLedgerOptions.Section))
            .Validate(o => o.PruneInterval > TimeSpan.Zero && o.PruneBatchSize > 0 && o.MaxBatchesPerRound > 0, "Vivim:Nonces:PruneInterval, PruneBatchSize and MaxBatchesPerRound must be positive.")
            .ValidateOnStart();
        silo.Services.AddSingleton<NoncePruner>();
        silo.Services.AddHostedService(sp => sp.GetRequiredService<NoncePruner>());

        // Registered first, so it also sees calls the principal check refuses.
        silo.AddIncomingGrainCallFilter<UnrecordedGrainDeactivation>();

        // Tenant isolation inside the silo: calls from clients need a principal the target grain allows.
        silo.AddIncomingGrainCallFilter<PrincipalCallFilter>();
        silo.Services.AddSingleton(TimeProvider.System);
        // Commits are pushed to listeners (IDidListener); the one stream left carries the rare hosted-DID notices, so
        // the default 100 ms polling period is fine and costs an idle silo next to nothing.
        silo.AddMemoryStreams(DidStreams.Provider, streams => streams.ConfigurePartitioning(8));
        return silo;
    }
}
