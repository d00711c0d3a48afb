using System.Diagnostics;
using Npgsql;

namespace Vivim.Tests.Support;

/// <summary>
/// The PostgreSQL server the tests use: <c>VIVIM_TEST_POSTGRES</c> (set by <c>.ci/run</c>, which starts a throwaway
/// server) is a connection string to its maintenance database. Each test class works in a database of its own.
/// </summary>
public static class Postgres
{
    public const string Variable = "VIVIM_TEST_POSTGRES";

    public static string AdminConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set. Run the tests with 'bash .ci/run', or start a server with 'infra/dev/postgres.sh start DIR PORT' and export {Variable} to the connection string it prints.");

    /// <summary>A fresh, empty database on the test server; dropped on dispose.</summary>
    public static Task<TestDatabase> CreateDatabaseAsync() => TestDatabase.CreateAsync(AdminConnectionString);
}

/// <summary>A database created for one test class.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string _adminConnectionString;

    private TestDatabase(string adminConnectionString, string name)
    {
        _adminConnectionString = adminConnectionString;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public static async Task<TestDatabase> CreateAsync(string adminConnectionString)
    {
        var name = "vivim_t_" + Guid.NewGuid().ToString("N")[..16];
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return new TestDatabase(adminConnectionString, name);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// A PostgreSQL server of a test's own (started with <c>infra/dev/postgres.sh</c> on a free port), for tests that stop
/// and restart the database.
/// </summary>
public sealed class PrivatePostgresServer : IAsyncDisposable
{
    private readonly string _directory;

    private PrivatePostgresServer(string directory, int port, string adminConnectionString)
    {
        _directory = directory;
        Port = port;
        AdminConnectionString = adminConnectionString;
    }

    public int Port { get; }

    public string AdminConnectionString { get; }

    public static async Task<PrivatePostgresServer> StartAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "vivim-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var port = FreePort.Next();
        var connectionString = (await RunScriptAsync("start", directory, port.ToString(System.Globalization.CultureInfo.InvariantCulture))).Trim();
        return new PrivatePostgresServer(directory, port, connectionString);
    }

    public Task StopAsync() => RunScriptAsync("stop", _directory);

    public Task StartAgainAsync() => RunScriptAsync("start", _directory, Port.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static Task<string> RunScriptAsync(params string[] arguments) => DevScript.RunAsync("postgres.sh", arguments);
}
