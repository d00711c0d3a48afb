using Azure.Core;
using Azure.Data.Tables;
using Vivim.Storage.Azure;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

/// <summary>A table of its own on Azurite for a test class, the log over it, and every request it sent (to check what reads fetch).</summary>
public sealed class AzureLogFixture : IAsyncLifetime
{
    public RecordedRequests Requests { get; } = new();

    public TableServiceClient Service { get; private set; } = null!;

    public TableClient Table { get; private set; } = null!;

    public AzureTableUpdateLog Log { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var options = new TableClientOptions();
        options.AddPolicy(Requests, HttpPipelinePosition.PerCall);
        Service = new TableServiceClient(Azurite.ConnectionString, options);
        var name = Azurite.NewPrefix() + AzureTableUpdateLog.DefaultTableName;
        Log = new AzureTableUpdateLog(Service, name);
        await Log.EnsureCreatedAsync();
        Table = Service.GetTableClient(name);
    }

    public async Task DisposeAsync() => await Table.DeleteAsync();
}
