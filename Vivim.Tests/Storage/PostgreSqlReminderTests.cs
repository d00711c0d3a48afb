using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;
using Vivim.Hosting;
using Vivim.Storage.Schema;
using Vivim.Tests.Support;

namespace Vivim.Tests.Storage;

[Alias("vivim.tests.IReminderProbeGrain")]
public interface IReminderProbeGrain : IGrainWithStringKey
{
    [Alias("Start")]
    Task StartAsync(string reminder, TimeSpan due, TimeSpan period);

    [Alias("Stop")]
    Task StopAsync(string reminder);

    [Alias("Ticks")]
    Task<int> TicksAsync(string reminder);

    [Alias("Reminders")]
    Task<List<string>> RemindersAsync();
}

public sealed class ReminderProbeGrain : Grain, IReminderProbeGrain, IRemindable
{
    private readonly Dictionary<string, int> _ticks = new(StringComparer.Ordinal);

    public Task StartAsync(string reminder, TimeSpan due, TimeSpan period) => this.RegisterOrUpdateReminder(reminder, due, period);

    public async Task StopAsync(string reminder)
    {
        if (await this.GetReminder(reminder) is { } registered)
        {
            await this.UnregisterReminder(registered);
        }
    }

    public Task<int> TicksAsync(string reminder) => Task.FromResult(_ticks.GetValueOrDefault(reminder));

    public async Task<List<string>> RemindersAsync() => (await this.GetReminders()).Select(r => r.ReminderName).Order(StringComparer.Ordinal).ToList();

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        _ticks[reminderName] = _ticks.GetValueOrDefault(reminderName) + 1;
        return Task.CompletedTask;
    }
}

/// <summary>A silo whose reminders live in our PostgreSQL tables, through Orleans' ADO.NET reminder table.</summary>
public sealed class PostgreSqlReminderFixture : IAsyncLifetime
{
    private InProcessTestCluster? _cluster;

    public MigratedDatabase Database { get; private set; } = null!;

    public InProcessTestCluster Cluster => _cluster!;

    public async Task InitializeAsync()
    {
        Database = await MigratedDatabase.CreateAsync(DatabaseKind.PostgreSql);
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.UseVivimPostgreSqlReminders(Database.ConnectionString);
            // Periods of a second, so that a test sees ticks in seconds.
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (Database is not null)
        {
            await Database.DisposeAsync();
        }
    }
}

public sealed class PostgreSqlReminderTests(PostgreSqlReminderFixture fixture) : IClassFixture<PostgreSqlReminderFixture>
{
    [Fact]
    public async Task A_registered_reminder_is_stored_fires_is_listed_and_goes_away_when_unregistered()
    {
        var grain = fixture.Cluster.Client.GetGrain<IReminderProbeGrain>("reminder-" + Guid.NewGuid().ToString("N"));
        var grainId = grain.GetGrainId().ToString();

        await grain.StartAsync("tick", TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1));
        await grain.StartAsync("other", TimeSpan.FromHours(1), TimeSpan.FromHours(1));

        Assert.Equal(1000L, Convert.ToInt64(await fixture.Database.ScalarAsync(
            "SELECT period_ms FROM vivim_reminders WHERE grain_id = @grain AND reminder_name = 'tick'", ("grain", grainId))));
        Assert.Equal(unchecked((int)grain.GetGrainId().GetUniformHashCode()), Convert.ToInt32(await fixture.Database.ScalarAsync(
            "SELECT grain_hash FROM vivim_reminders WHERE grain_id = @grain AND reminder_name = 'tick'", ("grain", grainId))));
        Assert.Equal(["other", "tick"], await grain.RemindersAsync());
        await Until.HoldsAsync(async () => Assert.True(await grain.TicksAsync("tick") >= 2));

        await grain.StopAsync("tick");

        Assert.Equal(["other"], await grain.RemindersAsync());
        Assert.Equal(1L, Convert.ToInt64(await fixture.Database.ScalarAsync(
            "SELECT count(*) FROM vivim_reminders WHERE grain_id = @grain", ("grain", grainId))));
        var ticks = await grain.TicksAsync("tick");
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(ticks, await grain.TicksAsync("tick"));
        Assert.Equal(0, await grain.TicksAsync("other"));
    }

    [Fact]
    public async Task The_reminder_table_versions_rows_and_reads_ring_ranges_on_both_sides_of_zero()
    {
        var table = fixture.Cluster.GetSiloServiceProvider().GetRequiredService<IReminderTable>();
        // Grains of a type no silo hosts, far in the future, so the silo's reminder service never fires them.
        var entries = Enumerable.Range(0, 64)
            .Select(i => new ReminderEntry
            {
                GrainId = GrainId.Create("vivim-test-unhosted", Guid.NewGuid().ToString("N")),
                ReminderName = "r" + i,
                StartAt = DateTime.UtcNow.AddDays(1),
                Period = TimeSpan.FromDays(1),
            })
            .ToList();
        foreach (var entry in entries)
        {
            entry.ETag = await table.UpsertRow(entry);
            Assert.Equal("0", entry.ETag);
        }

        var first = entries[0];
        var reread = await table.ReadRow(first.GrainId, first.ReminderName);
        Assert.NotNull(reread);
        Assert.Equal(first.StartAt.Ticks / 10, reread.StartAt.Ticks / 10);
        Assert.Equal(first.Period, reread.Period);
        Assert.Equal("1", await table.UpsertRow(first));
        Assert.False(await table.RemoveRow(first.GrainId, first.ReminderName, "0"));
        Assert.True(await table.RemoveRow(first.GrainId, first.ReminderName, "1"));
        Assert.Null(await table.ReadRow(first.GrainId, first.ReminderName));
        entries.RemoveAt(0);

        // Ranges are (begin, end] on the unsigned ring; the table stores hashes as signed integers.
        var hashes = entries.ToDictionary(e => e.ReminderName, e => e.GrainId.GetUniformHashCode());
        foreach (var (begin, end) in new (uint, uint)[]
        {
            (0x1000_0000, 0x7000_0000), (0x7000_0000, 0x9000_0000), (0x9000_0000, 0xF000_0000),
            (0xF000_0000, 0x1000_0000), (0x8000_0000, 0x8000_0000), (0x7FFF_FFFF, 0x8000_0000),
        })
        {
            var expected = hashes.Where(h => InRange(h.Value, begin, end)).Select(h => h.Key).Order(StringComparer.Ordinal);
            var actual = (await table.ReadRows(begin, end)).Reminders
                .Where(r => r.GrainId.Type.ToString() == "vivim-test-unhosted")
                .Select(r => r.ReminderName).Order(StringComparer.Ordinal);
            Assert.Equal(expected, actual);
        }

        foreach (var entry in entries)
        {
            Assert.True(await table.RemoveRow(entry.GrainId, entry.ReminderName, entry.ETag!));
        }
    }

    private static bool InRange(uint hash, uint begin, uint end) =>
        begin < end ? hash > begin && hash <= end : hash > begin || hash <= end;
}
