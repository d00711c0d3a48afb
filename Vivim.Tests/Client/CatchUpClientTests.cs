using System.Diagnostics;
using Vivim.Client.Sync;
using Vivim.Protocol.Model;
using Xunit.Abstractions;

namespace Vivim.Tests.Client;

/// <summary>Long catch-ups take the parallel checking path; a single bad update deep inside still refuses the page.</summary>
public sealed class CatchUpClientTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_long_catch_up_applies_and_a_tampered_update_deep_inside_refuses_it()
    {
        using var anchor = new TestAnchor();
        var transport = new FakeTransport(anchor);
        anchor.Set(("identity/profile", "{}"));
        transport.SnapshotOverride = anchor.Snapshot();
        for (var c = 0; c < 20; c++)
        {
            anchor.Set([.. Enumerable.Range(0, 100).Select(i => ($"memoryIndex/n/{c}/{i}", $$"""{"text":"note {{i}}","n":{{i}}}"""))]);
        }

        anchor.Commit((UpdateOperation.Delete, "memoryIndex/n/3/7", null));
        await using var protocol = new SyncProtocol(anchor.Did, new SyncConfig(AutoSync: false, MaxBatchSize: 1000), transport);

        transport.PageFilter = page => page with { Updates = [.. page.Updates.Select(u => u.Seq == 1500 ? u with { Data = new RawJson("""{"text":"forged"}""") } : u)] };
        var error = await Assert.ThrowsAsync<SyncVerificationException>(() => protocol.SyncNowAsync());
        Assert.Equal(VerificationCodes.UpdateHash, error.Code);
        Assert.Equal(1500, error.Update!.Seq);
        Assert.Equal(1001, protocol.Replica.Cursor); // the first page (2..1001) was good and stays applied

        transport.PageFilter = null;
        var watch = Stopwatch.StartNew();
        var applied = await protocol.SyncNowAsync();
        output.WriteLine($"{applied} updates verified and applied in {watch.ElapsedMilliseconds} ms");
        Assert.Equal(anchor.Head - 1001, applied);
        Assert.Equal((anchor.Head, anchor.RootHex), (protocol.Replica.Cursor, protocol.Replica.Root));
        Assert.False(protocol.Replica.TryGetDocument("memoryIndex/n/3/7", out _));
    }
}
