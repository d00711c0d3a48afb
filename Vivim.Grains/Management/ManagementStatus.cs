using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Orleans.Runtime;
using Vivim.Telemetry;

namespace Vivim.Management;

/// <summary>
/// <c>GET /status</c> on the management port: the cluster's members and activations (from Orleans' management grain),
/// and what this process committed and serves (its commits, connected clones and their lag). <c>vivim status</c>
/// reads it. Nothing in it names a tenant, a DID or a clone.
/// </summary>
public sealed class ManagementStatus(IGrainFactory grains, ILocalSiloDetails silo, ManagementRole role, TimeProvider time, IEnumerable<ICloneLagSource> lagSources)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private static readonly DateTimeOffset Started = ProcessStart();

    public async Task<StatusReport> ReadAsync()
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var hosts = await management.GetDetailedHosts(onlyActive: false);
        var statistics = await management.GetSimpleGrainStatistics();
        var activations = statistics.GroupBy(s => s.SiloAddress).ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount));
        var members = hosts
            .OrderBy(h => h.SiloName, StringComparer.Ordinal)
            .Select(h => new StatusMember(h.SiloName, h.SiloAddress.ToParsableString(), h.Status.ToString(), h.SiloAddress.Equals(silo.SiloAddress),
                activations.TryGetValue(h.SiloAddress, out var count) ? count : 0, h.StartTime))
            .ToList();

        var lag = lagSources.Select(s => s.Read()).Aggregate(new CloneLagSnapshot(0, 0, 0), (a, b) => new CloneLagSnapshot(a.Sessions + b.Sessions, Math.Max(a.Max, b.Max), a.Total + b.Total));
        var totals = VivimMetrics.Totals;
        var now = time.GetUtcNow();
        return new StatusReport(
            silo.Name, role.Name, now, Math.Max(0, (now - Started).TotalSeconds), members, members.Sum(m => m.Activations),
            new StatusProcess(totals.Commits, totals.UpdatesCommitted, totals.Sessions, totals.ConnectedClones, lag.Max, lag.Sessions == 0 ? 0 : (double)lag.Total / lag.Sessions));
    }

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

public sealed record StatusReport(string Silo, string Role, DateTimeOffset Time, double UptimeSeconds, IReadOnlyList<StatusMember> Members, int Activations, StatusProcess Process);

/// <param name="Local">The member answering.</param>
public sealed record StatusMember(string Name, string Address, string Status, bool Local, int Activations, DateTime StartTime);

/// <summary>This process since it started: commits and updates committed, live sessions and clones, their lag now.</summary>
public sealed record StatusProcess(long Commits, long UpdatesCommitted, long Sessions, long ConnectedClones, long MaxCloneLag, double MeanCloneLag);
