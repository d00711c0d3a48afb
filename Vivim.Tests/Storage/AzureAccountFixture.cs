using Azure.Data.Tables;
using Vivim.Hosting;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

/// <summary>
/// The tables and the container of <c>Vivim:Storage=Azure</c> on the test Azurite, under a prefix of this test class's
/// own (so classes never see each other's data), created as <c>Vivim.Silo migrate</c> creates them and deleted after.
/// </summary>
public sealed class AzureAccountFixture : IAsyncLifetime
{
    public AzureStorageAccount Account { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Account = AzureStorageAccount.Parse(Azurite.ConnectionString, Azurite.NewPrefix());
        await Account.EnsureCreatedAsync();
    }

    public TableClient Table(string name) => Account.Tables.GetTableClient(Account.TableName(name));

    public Task DisposeAsync() => DeleteAllAsync(Account);

    /// <summary>Deletes every table and container under the account's prefix.</summary>
    public static async Task DeleteAllAsync(AzureStorageAccount? account)
    {
        if (account is null)
        {
            return;
        }

        await foreach (var table in account.Tables.QueryAsync($"TableName ge '{account.Prefix}' and TableName lt '{account.Prefix}~'"))
        {
            await account.Tables.DeleteTableAsync(table.Name);
        }

        await foreach (var container in account.Blobs.GetBlobContainersAsync(prefix: account.Prefix.ToLowerInvariant()))
        {
            await account.Blobs.DeleteBlobContainerAsync(container.Name);
        }
    }
}
