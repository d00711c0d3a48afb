using Vivim.Storage;

namespace Vivim.Tests.Storage;

public sealed class UpdateLogConformanceAzure(AzureLogFixture fixture) : UpdateLogConformance, IClassFixture<AzureLogFixture>
{
    protected override IUpdateLog Log => fixture.Log;
}
