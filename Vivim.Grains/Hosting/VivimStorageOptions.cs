using Vivim.Storage.Schema;

namespace Vivim.Hosting;

/// <summary>
/// Configuration section <c>Vivim:Storage</c>: where grain state, the update log, membership and reminders live.
/// The default is the embedded node (SQLite files under <c>Vivim:DataPath</c>); production sets
/// <c>Vivim__Storage__Provider=PostgreSql</c> and <c>Vivim__Storage__ConnectionString</c>.
/// </summary>
public sealed class VivimStorageOptions
{
    public const string Section = "Vivim:Storage";

    public DatabaseKind Provider { get; set; } = DatabaseKind.Sqlite;

    /// <summary>The PostgreSQL connection string (Npgsql syntax). Never logged: it may hold a password.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Apply pending migrations when the host starts. The embedded SQLite node always does; on PostgreSQL the schema is
    /// normally applied by <c>Vivim.Silo migrate</c> with an owner role, so that silos need no DDL rights.
    /// </summary>
    public bool MigrateOnStart { get; set; }

    /// <summary>The longest wait between attempts to reach the database at start-up.</summary>
    public TimeSpan MaxStartupRetryDelay { get; set; } = TimeSpan.FromSeconds(30);
}
