using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using Vivim.Anchors;
using Vivim.Clones;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Keys;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Security;
using Vivim.Storage;
using Vivim.Tests.Support;

namespace Vivim.Tests.Grains;

/// <summary>
/// Retention (DESIGN §6): the log is dropped behind the window unless an active clone still needs it, never kept past
/// the cap, and a cursor behind the retained log is told to re-snapshot. Short windows, in a cluster of its own.
/// </summary>
public sealed class AnchorRetentionTests : IAsyncLifetime
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(4);
    private readonly InMemoryUpdateLog _log = new();
    private readonly FakeTimeProvider _clock = SiloClock.StartNow();
    private readonly FinishedGrainCalls _calls = new();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            ClusterFixture.ConfigureSilo(silo, _log, new SharedMemoryGrainStorage(), new Dictionary<string, string?>
            {
                ["Vivim:Anchors:Retention"] = Window.ToString(),
                ["Vivim:Anchors:RetentionCap"] = Cap.ToString(),
                ["Vivim:Anchors:RetentionInterval"] = TimeSpan.Zero.ToString(),
                ["Vivim:Clones:CursorFlushInterval"] = TimeSpan.FromMilliseconds(100).ToString(),
            });
            silo.UseClock(_clock);
            silo.Services.AddSingleton<IIncomingGrainCallFilter>(_calls);
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(DidStreams.Provider).AddVivimOperatorCredentials(ClusterFixture.TestClusterSecret));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task The_log_is_kept_for_active_clones_within_the_cap_and_a_cursor_behind_it_must_resnapshot()
    {
        var grains = _cluster.Client;
        using var parent = SigningKey.Generate();
        using var cloneKey = SigningKey.Generate();
        var node = grains.GetGrain<IExitNodeGrain>(parent.Did.Value);
        await node.CreateAsync(new ExitNodeSetup(new SecretSeed(parent.ExportSeed()), "tenant-retention"));
        var cloneId = await ExitNodeTestKit.RegisterApprovedAsync(node, cloneKey);
        var anchor = grains.GetGrain<IAnchorStateGrain>(parent.Did.Value);
        var clone = grains.GetGrain<ICloneGrain>(cloneId);

        await WriteAsync(node, "a", 10);

        // Nothing is older than the window yet: nothing is dropped.
        Assert.Equal(1, (await anchor.ApplyRetentionAsync()).RetainedFromSeq);

        // The clone acknowledged seq 4 (its grain's cursor timer persists the cursor and reports it: the test waits for
        // that report); the window passes.
        const string report = nameof(IAnchorStateGrain.ReportCursorAsync);
        var reports = _calls.Count(report);
        await clone.AcknowledgeAsync(4, string.Empty);
        _clock.Advance(Window + TimeSpan.FromMilliseconds(300));
        await _calls.AfterAsync(report, reports);
        await WriteAsync(node, "b", 5);
        var head = await anchor.ApplyRetentionAsync();
        Assert.Equal(5, head.RetainedFromSeq);
        Assert.Equal(15, head.Seq);
        var page = await clone.GetUpdatesAsync(4, 100);
        Assert.False(page.ResyncRequired);
        Assert.Equal(5, page.Updates[0].Seq);
        Assert.True((await anchor.GetUpdatesAsync(0, 100)).ResyncRequired, "a cursor behind the retained log must be told to re-snapshot");
        Assert.Equal(4, (await _log.GetBoundsAsync(parent.Did.Value)).FirstRetainedSeq - 1);

        // The clone falls silent past the cap (its last report and the "b" commits are older than the cap): the log goes
        // anyway, and the clone must re-snapshot.
        _clock.Advance(Cap + TimeSpan.FromMilliseconds(300));
        head = await anchor.ApplyRetentionAsync();
        Assert.Equal(16, head.RetainedFromSeq);
        Assert.True((await clone.GetUpdatesAsync(4, 100)).ResyncRequired);
        Assert.False((await clone.GetUpdatesAsync(15, 100)).ResyncRequired);

        // Documents stay: the state (and so a snapshot) is whole after truncation; retention survives reactivation.
        var snapshot = await anchor.GetSnapshotAsync();
        Assert.Equal(15, snapshot.Seq);
        Assert.Equal(head.Root, snapshot.RootV2);
        await _cluster.DeactivateAsync(anchor);
        var reactivated = await anchor.GetHeadAsync();
        Assert.Equal((15L, 16L, head.Root), (reactivated.Seq, reactivated.RetainedFromSeq, reactivated.Root));
    }

    private static async Task WriteAsync(IExitNodeGrain node, string prefix, int count)
    {
        var batch = Enumerable.Range(0, count)
            .Select(i => new OwnerUpdate(UpdateType.Node, UpdateOperation.Create, $"nodes/{prefix}{i}", new RawJson($$"""{"i":{{i}}}""")))
            .ToList();
        Assert.Equal(SubmitOutcome.Committed, (await node.WriteAsOwnerAsync(batch)).Outcome);
    }
}
