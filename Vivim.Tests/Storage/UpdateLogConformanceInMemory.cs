using Vivim.Storage;

namespace Vivim.Tests.Storage;

public sealed class UpdateLogConformanceInMemory : UpdateLogConformance
{
    private static readonly InMemoryUpdateLog Shared = new();

    protected override IUpdateLog Log => Shared;
}
