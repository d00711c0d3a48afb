using Vivim.Storage.Sqlite;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

/// <summary>One SQLite log file in a temporary directory for a test class.</summary>
public sealed class SqliteLogFixture : IAsyncLifetime
{
    public string File { get; private set; } = string.Empty;

    public SqliteUpdateLog Log { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        File = await UpdateLogDatabases.CreateSqliteAsync();
        Log = new SqliteUpdateLog(File);
    }

    public Task DisposeAsync()
    {
        Log.Dispose();
        UpdateLogDatabases.DeleteSqlite(File);
        return Task.CompletedTask;
    }
}
