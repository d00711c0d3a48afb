using Microsoft.Extensions.Configuration;
using Vivim.Storage.Schema;

namespace Vivim.Hosting;

/// <summary>
/// Configuration section <c>Vivim:Storage</c>: where grain state, the update log, membership and reminders live.
/// The default is the embedded node (SQLite files under <c>Vivim:DataPath</c>); production sets
/// <c>Vivim__Storage__Provider=PostgreSql</c> and <c>Vivim__Storage__ConnectionString</c>. The public API's short form is
/// accepted too: <c>Vivim:Storage</c> itself set to <c>Sqlite</c>, <c>Postgres</c> or <c>Azure</c>, with
/// <c>ConnectionStrings:Vivim</c>. On Azure the connection string is an Azure Storage connection string or a service URI
/// (managed identity; see <see cref="AzureStorageAccount"/>).
/// </summary>
public sealed class VivimStorageOptions
{
    public const string Section = "Vivim:Storage";

    public DatabaseKind Provider { get; set; } = DatabaseKind.Sqlite;

    /// <summary>
    /// The PostgreSQL connection string (Npgsql syntax), or on Azure the storage account's connection string or service
    /// URI. Never logged: it may hold a password or an account key.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Apply pending migrations when the host starts. The embedded SQLite node always does; on PostgreSQL the schema is
    /// normally applied by <c>Vivim.Silo migrate</c> with an owner role, so that silos need no DDL rights.
    /// </summary>
    public bool MigrateOnStart { get; set; }

    /// <summary>
    /// On Azure: the prefix of every table and blob container name (letters and digits, starting with a letter), so
    /// that several deployments can share one storage account.
    /// </summary>
    public string TablePrefix { get; set; } = AzureStorageAccount.DefaultPrefix;

    /// <summary>The longest wait between attempts to reach the database at start-up.</summary>
    public TimeSpan MaxStartupRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Reads the section, then the short form where the long one is not set.</summary>
    /// <exception cref="InvalidOperationException"><c>Vivim:Storage</c> names no known provider.</exception>
    public static VivimStorageOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new VivimStorageOptions();
        Apply(configuration, options);
        return options;
    }

    /// <summary>Binds <paramref name="options"/> from the section and the short form.</summary>
    public static void Apply(IConfiguration configuration, VivimStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        var section = configuration.GetSection(Section);
        if (section.GetChildren().Any())
        {
            section.Bind(options);
        }

        if (section.Value is { Length: > 0 } shortForm && section["Provider"] is null)
        {
            options.Provider = shortForm.Trim().ToUpperInvariant() switch
            {
                "SQLITE" => DatabaseKind.Sqlite,
                "POSTGRES" or "POSTGRESQL" => DatabaseKind.PostgreSql,
                "AZURE" => DatabaseKind.Azure,
                _ => throw new InvalidOperationException($"{Section} is '{shortForm}'; it must be Sqlite, Postgres or Azure."),
            };
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString) && configuration.GetConnectionString("Vivim") is { Length: > 0 } connectionString)
        {
            options.ConnectionString = connectionString;
        }
    }
}
