using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using Vivim.Telemetry;

namespace Vivim.Management;

/// <summary>
/// <c>GET /status</c> on the management port: the cluster's members and activations (from Orleans' management grain),
/// each active member's own commits, connected clones and lag (asked of that member), their sum over the cluster, and
/// the same figures of the process that answers. <c>vivim status</c> reads it. Nothing in it names a tenant, a DID or a
/// clone.
/// </summary>
public sealed class ManagementStatus(IGrainFactory grains, ILocalSiloDetails silo, ManagementRole role, TimeProvider time, IEnumerable<ICloneLagSource> lagSources)
{
    /// <summary>How long one member may take to answer before the report shows it without figures.</summary>
    public static readonly TimeSpan MemberTimeout = TimeSpan.FromSeconds(5);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private static readonly DateTimeOffset Started = ProcessStart();

    public async Task<StatusReport> ReadAsync()
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var hosts = await management.GetDetailedHosts(onlyActive: false);
        var statistics = await management.GetSimpleGrainStatistics();
        var activations = statistics.GroupBy(s => s.SiloAddress).ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount));
        var ordered = hosts.OrderBy(h => h.SiloName, StringComparer.Ordinal).ToList();
        // Read once: this process's line among the members and its own figures are the same reading.
        var local = LocalActivity(lagSources);
        var figures = await Task.WhenAll(ordered.Select(h => h.Status == SiloStatus.Active ? ReadMemberAsync(h.SiloAddress, local) : Task.FromResult<MemberActivity?>(null)));
        var members = ordered
            .Select((h, i) => new StatusMember(h.SiloName, h.SiloAddress.ToParsableString(), h.Status.ToString(), h.SiloAddress.Equals(silo.SiloAddress),
                activations.TryGetValue(h.SiloAddress, out var count) ? count : 0, h.StartTime, figures[i] is { } own ? Figures(own) : null))
            .ToList();

        var reporting = figures.OfType<MemberActivity>().ToList();
        var cluster = reporting.Aggregate(new MemberActivity(0, 0, 0, 0, 0, 0, 0), (a, b) => new MemberActivity(
            a.Commits + b.Commits, a.UpdatesCommitted + b.UpdatesCommitted, a.Sessions + b.Sessions, a.ConnectedClones + b.ConnectedClones,
            a.LagSessions + b.LagSessions, Math.Max(a.MaxCloneLag, b.MaxCloneLag), a.TotalCloneLag + b.TotalCloneLag));
        var now = time.GetUtcNow();
        return new StatusReport(
            silo.Name, role.Name, now, Math.Max(0, (now - Started).TotalSeconds), members, members.Sum(m => m.Activations),
            Figures(local), Figures(cluster) with { MembersReporting = reporting.Count });
    }

    /// <summary>This process's figures: its commits since start (<see cref="VivimMetrics.Totals"/>) and its clones' lag now.</summary>
    public static MemberActivity LocalActivity(IEnumerable<ICloneLagSource> lagSources)
    {
        ArgumentNullException.ThrowIfNull(lagSources);
        var lag = lagSources.Select(s => s.Read()).Aggregate(new CloneLagSnapshot(0, 0, 0), (a, b) => new CloneLagSnapshot(a.Sessions + b.Sessions, Math.Max(a.Max, b.Max), a.Total + b.Total));
        var totals = VivimMetrics.Totals;
        return new MemberActivity(totals.Commits, totals.UpdatesCommitted, totals.Sessions, totals.ConnectedClones, lag.Sessions, lag.Max, lag.Total);
    }

    /// <summary>Another member's figures, asked of it (null when it does not answer in time); this one's, read here.</summary>
    private async Task<MemberActivity?> ReadMemberAsync(SiloAddress member, MemberActivity local)
    {
        if (member.Equals(silo.SiloAddress))
        {
            return local;
        }

        RequestContext.Set(IPlacementDirector.PlacementHintKey, member);
        try
        {
            return await grains.GetGrain<IMemberStatusGrain>(member.ToParsableString()).ReadAsync().WaitAsync(MemberTimeout, time);
        }
        catch (Exception e) when (e is TimeoutException or OrleansException) // SiloUnavailableException is one
        {
            return null;
        }
        finally
        {
            RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        }
    }

    private static StatusProcess Figures(MemberActivity activity) =>
        new(activity.Commits, activity.UpdatesCommitted, activity.Sessions, activity.ConnectedClones, activity.MaxCloneLag,
            activity.LagSessions == 0 ? 0 : (double)activity.TotalCloneLag / activity.LagSessions);

    private static DateTimeOffset ProcessStart()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new DateTimeOffset(process.StartTime.ToUniversalTime());
    }

    public async Task WriteAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var report = await ReadAsync();
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, report, Json, context.RequestAborted);
    }
}

/// <summary>This host's role in the cluster (<c>SiloRoles</c>), as <c>/status</c> reports it.</summary>
public sealed record ManagementRole(string Name);

/// <param name="Process">The answering process's figures.</param>
/// <param name="Cluster">The sum over the members that answered (<see cref="StatusProcess.MembersReporting"/> of them).</param>
public sealed record StatusReport(string Silo, string Role, DateTimeOffset Time, double UptimeSeconds, IReadOnlyList<StatusMember> Members, int Activations, StatusProcess Process, StatusProcess Cluster);

/// <param name="Local">The member answering.</param>
/// <param name="Figures">What the member itself reports; null when it is not active or did not answer within <see cref="ManagementStatus.MemberTimeout"/>.</param>
public sealed record StatusMember(string Name, string Address, string Status, bool Local, int Activations, DateTime StartTime, StatusProcess? Figures);

/// <summary>Commits and updates committed since start, live sessions and clones, their lag now.</summary>
public sealed record StatusProcess(long Commits, long UpdatesCommitted, long Sessions, long ConnectedClones, long MaxCloneLag, double MeanCloneLag)
{
    /// <summary>For the cluster's sum: how many members it adds up.</summary>
    public int? MembersReporting { get; init; }
}
