using Vivim.Storage;

namespace Vivim.Tests.Storage;

public sealed class UpdateLogConformancePostgreSql(PostgresLogFixture fixture) : UpdateLogConformance, IClassFixture<PostgresLogFixture>
{
    protected override IUpdateLog Log => fixture.Log;
}
