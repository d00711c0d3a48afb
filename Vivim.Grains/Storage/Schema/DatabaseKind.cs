namespace Vivim.Storage.Schema;

/// <summary>
/// The stores Vivim keeps its data in: SQLite files for the embedded node, PostgreSQL for production, or an Azure
/// Storage account (tables and blobs, no database server). Only the first two have a SQL schema.
/// </summary>
public enum DatabaseKind
{
    Sqlite,
    PostgreSql,
    Azure,
}
