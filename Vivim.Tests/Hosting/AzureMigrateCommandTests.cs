using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Vivim.Hosting;
using Vivim.Tests.Storage;
using Vivim.Tests.Support;

namespace Vivim.Tests.Hosting;

/// <summary><c>Vivim.Silo migrate</c> on Azure Storage: creates every table and the container, and changes nothing run again.</summary>
public sealed class AzureMigrateCommandTests
{
    [Fact]
    public async Task Migrate_creates_the_tables_and_the_container_and_is_idempotent()
    {
        var prefix = Azurite.NewPrefix();
        var account = AzureStorageAccount.Parse(Azurite.ConnectionString, prefix);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Vivim:Storage"] = "Azure",
            ["ConnectionStrings:Vivim"] = Azurite.ConnectionString,
            ["Vivim:Storage:TablePrefix"] = prefix,
        }).Build();
        try
        {
            Assert.Equal(account.TableNames.Count + account.ContainerNames.Count, (await account.FindMissingAsync()).Count);

            Assert.Equal(0, await MigrateCommand.RunAsync(configuration, NullLoggerFactory.Instance));
            Assert.Empty(await account.FindMissingAsync());
            Assert.Equal(0, await MigrateCommand.RunAsync(configuration, NullLoggerFactory.Instance));
            Assert.Empty(await account.FindMissingAsync());
        }
        finally
        {
            await AzureAccountFixture.DeleteAllAsync(account);
        }
    }

    [Fact]
    public async Task Migrate_against_an_unreachable_account_fails_with_exit_code_1()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Vivim:Storage"] = "Azure",
            ["ConnectionStrings:Vivim"] = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Convert.ToBase64String(new byte[64])};BlobEndpoint=http://127.0.0.1:{FreePort.Next()}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{FreePort.Next()}/devstoreaccount1;",
        }).Build();

        Assert.Equal(1, await MigrateCommand.RunAsync(configuration, NullLoggerFactory.Instance));
    }
}
