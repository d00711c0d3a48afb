using Microsoft.Extensions.DependencyInjection;
using Orleans.Clustering.AzureStorage;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Reminders.AzureStorage;
using Orleans.Serialization;
using Orleans.Storage;

namespace Vivim.Hosting;

/// <summary>
/// Orleans' Azure Storage providers on the account of <c>Vivim:Storage=Azure</c>: membership and reminders in Table
/// storage, grain state in Table or Blob storage per state (<see cref="AzureGrainStatePlacement"/>), all under the
/// deployment's table prefix and sharing the account's clients.
/// </summary>
public static class AzureOrleansStorageExtensions
{
    /// <summary>Membership, reminders and grain state (<paramref name="stateNames"/>, each over both providers) on <paramref name="account"/>.</summary>
    public static ISiloBuilder UseVivimAzureStorage(this ISiloBuilder silo, AzureStorageAccount account, params string[] stateNames)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(account);
        silo.UseAzureStorageClustering(o =>
        {
            o.TableServiceClient = account.Tables;
            o.TableName = account.TableName(AzureStorageAccount.SilosTable);
        });
        silo.UseAzureTableReminderService(o =>
        {
            o.TableServiceClient = account.Tables;
            o.TableName = account.TableName(AzureStorageAccount.RemindersTable);
        });
        foreach (var name in stateNames.DefaultIfEmpty(VivimProviders.GrainState))
        {
            silo.AddVivimAzureGrainStorage(account, name);
        }

        return silo;
    }

    /// <summary>Cluster membership on Azure Table storage, for a client: it finds the active gateways there.</summary>
    public static IClientBuilder UseVivimAzureStorageClustering(this IClientBuilder client, AzureStorageAccount account)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(account);
        return client.UseAzureStorageClustering(o =>
        {
            o.TableServiceClient = account.Tables;
            o.TableName = account.TableName(AzureStorageAccount.SilosTable);
        });
    }

    /// <summary>
    /// Grain state <paramref name="name"/>: Orleans' table provider (<c>name-table</c>) and blob provider
    /// (<c>name-blob</c>), both with Orleans' own serializer (as <see cref="OrleansStorageExtensions.AddVivimGrainStorage"/>
    /// explains) and deleting a cleared state, behind one storage of that name that sends each state to its place.
    /// </summary>
    /// <remarks><paramref name="serializer"/> replaces Orleans' own only for <c>copy-storage</c>, which moves states as they are serialized.</remarks>
    public static ISiloBuilder AddVivimAzureGrainStorage(this ISiloBuilder silo, AzureStorageAccount account, string name = VivimProviders.GrainState, IGrainStorageSerializer? serializer = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(account);
        silo.AddAzureTableGrainStorage(TableProviderName(name), options => options.Configure<Serializer>((o, orleans) =>
        {
            o.TableServiceClient = account.Tables;
            o.TableName = account.TableName(AzureStorageAccount.GrainStateTable);
            o.GrainStorageSerializer = serializer ?? new OrleansGrainStorageSerializer(orleans);

            // A deleted tenant, DID or clone leaves no row (the table provider keeps an empty one by default).
            o.DeleteStateOnClear = true;
        }));
        silo.AddAzureBlobGrainStorage(BlobProviderName(name), options => options.Configure<Serializer>((o, orleans) =>
        {
            o.BlobServiceClient = account.Blobs;
            o.ContainerName = account.ContainerName(AzureStorageAccount.GrainStateContainer);
            o.GrainStorageSerializer = serializer ?? new OrleansGrainStorageSerializer(orleans);
            o.DeleteStateOnClear = true;
        }));
        silo.Services.AddKeyedSingleton<IGrainStorage>(name, (services, _) => new PlacedAzureGrainStorage(
            services.GetRequiredKeyedService<IGrainStorage>(TableProviderName(name)),
            services.GetRequiredKeyedService<IGrainStorage>(BlobProviderName(name))));
        return silo;
    }

    /// <summary>The Table storage provider behind grain storage <paramref name="name"/>.</summary>
    public static string TableProviderName(string name) => name + "-table";

    /// <summary>The Blob storage provider behind grain storage <paramref name="name"/>.</summary>
    public static string BlobProviderName(string name) => name + "-blob";
}
