using Microsoft.Extensions.Configuration;
using Vivim.Hosting;
using Vivim.Storage.Schema;

namespace Vivim.Tests.Hosting;

/// <summary>Both spellings of the storage settings: the section's own and the public API's short form.</summary>
public sealed class StorageConfigurationTests
{
    private static VivimStorageOptions Read(params (string Key, string Value)[] settings) =>
        VivimStorageOptions.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build());

    [Fact]
    public void The_default_is_the_embedded_SQLite_node()
    {
        var options = Read();
        Assert.Equal((DatabaseKind.Sqlite, null), (options.Provider, options.ConnectionString));
    }

    [Fact]
    public void The_long_form_binds_every_member()
    {
        var options = Read(("Vivim:Storage:Provider", "PostgreSql"), ("Vivim:Storage:ConnectionString", "Host=db"), ("Vivim:Storage:MigrateOnStart", "true"));
        Assert.Equal((DatabaseKind.PostgreSql, "Host=db", true), (options.Provider, options.ConnectionString, options.MigrateOnStart));
    }

    [Theory]
    [InlineData("Postgres", DatabaseKind.PostgreSql)]
    [InlineData("postgresql", DatabaseKind.PostgreSql)]
    [InlineData("Sqlite", DatabaseKind.Sqlite)]
    public void The_short_form_names_the_provider_and_takes_ConnectionStrings_Vivim(string value, DatabaseKind kind)
    {
        var options = Read(("Vivim:Storage", value), ("ConnectionStrings:Vivim", "Host=db"));
        Assert.Equal((kind, "Host=db"), (options.Provider, options.ConnectionString));
    }

    [Fact]
    public void The_long_form_wins_where_both_are_set()
    {
        var options = Read(("Vivim:Storage", "Sqlite"), ("Vivim:Storage:Provider", "PostgreSql"), ("Vivim:Storage:ConnectionString", "Host=a"), ("ConnectionStrings:Vivim", "Host=b"));
        Assert.Equal((DatabaseKind.PostgreSql, "Host=a"), (options.Provider, options.ConnectionString));
    }

    [Fact]
    public void An_unknown_provider_is_a_clear_error()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read(("Vivim:Storage", "Oracle")));
        Assert.Contains("Sqlite, Postgres or Azure", error.Message, StringComparison.Ordinal);
    }

    private const string AzuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private const string AccountConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + AzuriteKey + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";

    [Theory]
    [InlineData("Azure")]
    [InlineData("azure")]
    public void The_short_form_names_Azure_with_ConnectionStrings_Vivim(string value)
    {
        var options = Read(("Vivim:Storage", value), ("ConnectionStrings:Vivim", AccountConnectionString));
        Assert.Equal((DatabaseKind.Azure, AccountConnectionString, AzureStorageAccount.DefaultPrefix), (options.Provider, options.ConnectionString, options.TablePrefix));
    }

    [Fact]
    public void The_long_form_names_Azure_and_a_table_prefix()
    {
        var options = Read(("Vivim:Storage:Provider", "Azure"), ("Vivim:Storage:ConnectionString", AccountConnectionString), ("Vivim:Storage:TablePrefix", "staging2"));
        var location = StorageLocation.Resolve(options, "unused");

        Assert.Equal(DatabaseKind.Azure, location.Provider);
        Assert.Null(location.DataPath);
        var account = Assert.IsType<AzureStorageAccount>(location.Azure);
        Assert.Equal("staging2", account.Prefix);
        Assert.Contains("staging2silos", account.TableNames);
        Assert.Contains("staging2log", account.TableNames);
        Assert.Equal(["staging2grainstate"], account.ContainerNames);
        Assert.False(account.UsesManagedIdentity);
        Assert.Throws<InvalidOperationException>(location.CreateConnection);
    }

    [Fact]
    public void The_account_is_described_without_its_key_or_SAS()
    {
        var withKey = AzureStorageAccount.Parse(AccountConnectionString, "vivim").Describe();
        var withSas = AzureStorageAccount.Parse(
            "BlobEndpoint=https://vivimprod.blob.core.windows.net;TableEndpoint=https://vivimprod.table.core.windows.net;SharedAccessSignature=sv=2024-08-04&ss=bt&sig=secret-signature", "vivim").Describe();

        Assert.StartsWith("devstoreaccount1 (tables http://127.0.0.1:10002/devstoreaccount1", withKey, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteKey, withKey, StringComparison.Ordinal);
        Assert.Contains("tables https://vivimprod.table.core.windows.net/", withSas, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-signature", withSas, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://vivimprod.table.core.windows.net", "https://vivimprod.table.core.windows.net/", "https://vivimprod.blob.core.windows.net/")]
    [InlineData("https://vivimprod.blob.core.windows.net/", "https://vivimprod.table.core.windows.net/", "https://vivimprod.blob.core.windows.net/")]
    [InlineData("https://vivimcn.table.core.chinacloudapi.cn", "https://vivimcn.table.core.chinacloudapi.cn/", "https://vivimcn.blob.core.chinacloudapi.cn/")]
    public void A_service_uri_means_a_managed_identity_and_names_the_other_service_too(string configured, string tables, string blobs)
    {
        var account = AzureStorageAccount.Parse(configured, "vivim");

        Assert.True(account.UsesManagedIdentity);
        Assert.Equal(new Uri(tables), account.Tables.Uri);
        Assert.Equal(new Uri(blobs), account.Blobs.Uri);
        Assert.Contains("managed identity", account.Describe(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AccountName=x;AccountKey=not-base64-" + AzuriteKey, "not a valid Azure Storage connection string")]
    [InlineData("UseDevelopmentStorage=true", "explicit devstoreaccount1")]
    [InlineData("http://vivimprod.table.core.windows.net", "not https")]
    [InlineData("https://vivimprod.queue.core.windows.net", "table or blob service URI")]
    [InlineData("", "is required")]
    public void A_bad_account_is_a_clear_error_that_never_quotes_the_value(string configured, string expected)
    {
        var error = Assert.Throws<InvalidOperationException>(() => StorageLocation.Resolve(
            Read(("Vivim:Storage", "Azure"), ("ConnectionStrings:Vivim", configured)), "unused"));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteKey, error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1vivim")]
    [InlineData("vivim-prod")]
    [InlineData("")]
    [InlineData("abcdefghijabcdefghijabcdefghijabcdefghijX")]
    public void A_table_prefix_that_cannot_start_a_table_name_is_refused(string prefix)
    {
        var error = Assert.Throws<InvalidOperationException>(() => AzureStorageAccount.Parse(AccountConnectionString, prefix));
        Assert.Contains("TablePrefix", error.Message, StringComparison.Ordinal);
    }
}
