using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Vivim.Tests.Gateway;
using Vivim.Tests.Support;

namespace Vivim.Tests.Security;

/// <summary>
/// A tenant built up over a gateway's HTTP API and then deleted by the operator, next to a tenant that stays: what a
/// deletion must leave no trace of (its ids, its clones' DIDs, its documents' text) and what must survive it.
/// </summary>
public sealed record DeletedTenant(string TenantId, string ExitNodeDid, IReadOnlyList<string> CloneIds, IReadOnlyList<string> CloneDids, string Marker, string SurvivorMarker)
{
    /// <summary>Every string of the deleted tenant that no stored byte may hold any more.</summary>
    public IReadOnlyList<string> Traces => [Marker, TenantId, ExitNodeDid, .. CloneIds, .. CloneDids];

    /// <summary>Keys its grains' state was stored under (tenant, exit node and anchor, clones).</summary>
    public IReadOnlyList<string> GrainKeys => [TenantId, ExitNodeDid, .. CloneIds];

    /// <summary>
    /// Creates both tenants: documents carrying the markers (one large enough for overflow pages, one replaced so an
    /// older version existed), a registered clone and one its owner removed; then deletes the first tenant (204).
    /// </summary>
    public static async Task<DeletedTenant> CreateAndDeleteAsync(Uri baseAddress)
    {
        var gateway = GatewayFixture.At(baseAddress);
        var marker = "erase-me-" + Guid.NewGuid().ToString("N");
        var survivorMarker = "keep-me-" + Guid.NewGuid().ToString("N");

        var (_, survivorKey) = await gateway.CreateTenantAsync("survivor");
        var survivorDid = await gateway.CreateExitNodeAsync(survivorKey);
        await GatewayTestKit.WriteAsync(gateway, survivorKey, survivorDid, ("memoryIndex/kept", Note(survivorMarker)));

        var (tenantId, apiKey) = await gateway.CreateTenantAsync("deleted");
        var did = await gateway.CreateExitNodeAsync(apiKey);
        await GatewayTestKit.WriteAsync(gateway, apiKey, did,
            ("memoryIndex/small", Note(marker)),
            ("memoryIndex/large", Note(marker + new string('x', 20_000) + marker)),
            ("memoryIndex/replaced", Note(marker + "-first")));
        using var tenant = gateway.CreateClient(apiKey);
        var replace = new JsonObject
        {
            ["updates"] = new JsonArray(new JsonObject
            {
                ["type"] = "memory",
                ["operation"] = "update",
                ["path"] = "memoryIndex/replaced",
                ["data"] = JsonNode.Parse(Note(marker + "-second")),
            }),
        };
        using (var replaced = await tenant.PostAsync($"/v1/exit-nodes/{did}/updates", GatewayFixture.Json(replace)))
        {
            Assert.True(replaced.IsSuccessStatusCode, await replaced.Content.ReadAsStringAsync());
        }

        var kept = await GatewayTestKit.RegisterAsync(gateway, did);
        var removed = await GatewayTestKit.RegisterAsync(gateway, did);
        using (var removal = await tenant.DeleteAsync($"/v1/exit-nodes/{did}/clones/{removed.CloneId}"))
        {
            Assert.True(removal.IsSuccessStatusCode, await removal.Content.ReadAsStringAsync());
        }

        using var operatorClient = gateway.CreateClient(gateway.OperatorKey);
        using (var deleted = await operatorClient.DeleteAsync($"/v1/tenants/{tenantId}"))
        {
            Assert.True(deleted.StatusCode == HttpStatusCode.NoContent, await deleted.Content.ReadAsStringAsync());
        }

        return new DeletedTenant(tenantId, did, [kept.CloneId, removed.CloneId], [kept.Key.Did.Value, removed.Key.Did.Value], marker, survivorMarker);
    }

    /// <summary>"file: text" for every file under <paramref name="directory"/> whose raw bytes contain one of <paramref name="texts"/>.</summary>
    public static List<string> FindInFiles(string directory, IEnumerable<string> texts)
    {
        var found = new List<string>();
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            byte[] bytes;
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                bytes = copy.ToArray();
            }

            found.AddRange(texts.Where(t => bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(t)) >= 0).Select(t => $"{Path.GetFileName(file)}: {t}"));
        }

        return found;
    }

    private static string Note(string text) => new JsonObject { ["note"] = text }.ToJsonString();
}
