namespace Vivim.Storage.Schema;

/// <summary>The databases Vivim stores into: SQLite files for the embedded node, PostgreSQL for production.</summary>
public enum DatabaseKind
{
    Sqlite,
    PostgreSql,
}
