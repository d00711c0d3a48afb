using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using Vivim.Storage.Schema;

namespace Vivim.Hosting;

/// <summary>
/// Orleans' ADO.NET providers on Vivim's databases: grain state on SQLite or PostgreSQL, clustering and reminders on
/// PostgreSQL. They run the statements our migrations (<c>Storage/Migrations/*/0001_orleans.sql</c>) put in the
/// database, so the schema must be migrated before the silo starts.
/// </summary>
public static class OrleansStorageExtensions
{
    /// <summary>
    /// Grain state (<see cref="VivimProviders.GrainState"/>) in the given database, serialized with Orleans' own
    /// serializer like every other value the grains exchange.
    /// </summary>
    /// <remarks>
    /// Not the default JSON storage serializer: it records the runtime type of every value, and the lists our records
    /// hold are often compiler-generated types (<c>[.. items]</c> into an <c>IReadOnlyList</c>) that it then refuses to
    /// read back. Orleans' serializer follows the <c>[Id]</c> and <c>[Alias]</c> contract the state types already keep.
    /// </remarks>
    public static ISiloBuilder AddVivimGrainStorage(this ISiloBuilder silo, DatabaseKind database, string connectionString, string name = VivimProviders.GrainState)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var invariant = AdoNetInvariants.For(database);

        // On SQLite the provider is reached through a writer thread of its own (see SqliteGrainStateWriter).
        var providerName = database == DatabaseKind.Sqlite ? name + "-sqlite" : name;
        silo.AddAdoNetGrainStorage(providerName, options => options.Configure<Serializer>((o, serializer) =>
        {
            o.Invariant = invariant;
            o.ConnectionString = connectionString;
            o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);

            // A cleared record is deleted, not kept with a null payload: its key names the grain (a tenant id, a DID,
            // a clone id), and a deleted tenant must leave no row behind. Its version restarts at the next write.
            o.DeleteStateOnClear = true;
        }));
        if (database == DatabaseKind.Sqlite)
        {
            silo.Services.AddKeyedSingleton<IGrainStorage>(name, (services, _) => new Storage.Sqlite.SqliteGrainStateWriter(services.GetRequiredKeyedService<IGrainStorage>(providerName)));
        }

        return silo;
    }

    /// <summary>Cluster membership in PostgreSQL, for a silo (which also publishes itself as a gateway there).</summary>
    public static ISiloBuilder UseVivimPostgreSqlClustering(this ISiloBuilder silo, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return silo.UseAdoNetClustering(o =>
        {
            o.Invariant = AdoNetInvariants.PostgreSql;
            o.ConnectionString = connectionString;
        });
    }

    /// <summary>Cluster membership in PostgreSQL, for a client: it finds the active gateways there.</summary>
    public static IClientBuilder UseVivimPostgreSqlClustering(this IClientBuilder client, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return client.UseAdoNetClustering(o =>
        {
            o.Invariant = AdoNetInvariants.PostgreSql;
            o.ConnectionString = connectionString;
        });
    }

    /// <summary>Reminders in PostgreSQL.</summary>
    public static ISiloBuilder UseVivimPostgreSqlReminders(this ISiloBuilder silo, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return silo.UseAdoNetReminderService(o =>
        {
            o.Invariant = AdoNetInvariants.PostgreSql;
            o.ConnectionString = connectionString;
        });
    }
}

/// <summary>The ADO.NET invariant names Orleans 10.4.2 resolves to our database drivers.</summary>
public static class AdoNetInvariants
{
    /// <summary>Npgsql's <c>NpgsqlFactory</c>.</summary>
    public const string PostgreSql = "Npgsql";

    /// <summary>Orleans maps this name to Microsoft.Data.Sqlite's <c>SqliteFactory</c>, not to the System.Data.SQLite driver.</summary>
    public const string Sqlite = "System.Data.SQLite";

    public static string For(DatabaseKind database) => database switch
    {
        DatabaseKind.Sqlite => Sqlite,
        DatabaseKind.PostgreSql => PostgreSql,
        _ => throw new ArgumentOutOfRangeException(nameof(database), database, "Unknown database."),
    };
}
