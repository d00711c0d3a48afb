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
        Assert.Contains("Sqlite or Postgres", error.Message, StringComparison.Ordinal);
    }
}
