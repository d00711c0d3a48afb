using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vivim.ExitNodes;
using Vivim.Gateway.Auth;
using Vivim.Protocol.Json;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Security;

namespace Vivim.Gateway.Api;

/// <summary>
/// <c>GET /v1/exit-nodes/{did}/events</c>: an exit node's owner watches it live as Server-Sent Events — commits,
/// what happened to its clones and registrations, and the clones' progress. Each event's id is the resume cursor
/// <c>&lt;seq&gt;.&lt;activity id&gt;</c>; a reconnect with <c>Last-Event-ID</c> continues after it. The stream reads the
/// node the way the owner's other routes do (a page at a time, at most twice a second), so it holds no more than one
/// page in memory, and a tenant has at most <see cref="MaxStreamsPerTenant"/> open at each gateway.
/// </summary>
public sealed class ExitNodeEventStream(CallPrincipals principals, ApiAuthentication auth, TimeProvider time)
{
    public const int MaxStreamsPerTenant = 8;
    public const string ContentType = "text/event-stream";

    private const int CommitPageUpdates = 500;
    private const int ActivityPage = 200;
    private const int ProgressClones = 100;
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan KeepAliveEvery = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan KeyCheckEvery = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    public async Task StreamAsync(HttpContext context, string did, IGrainFactory grains)
    {
        var tenantId = ApiAuthentication.Tenant(context).TenantId;
        var node = grains.GetGrain<IExitNodeGrain>(did);
        var (seq, activity, resumed) = Cursor(context.Request.Headers["Last-Event-ID"].ToString());

        // The node answers (or is 404) before the stream starts, so a wrong DID is a problem, not an empty stream.
        var info = await node.GetInfoAsync();
        var latest = (await node.GetActivityAsync(long.MaxValue, 1)).LatestId;
        if (!resumed)
        {
            (seq, activity) = (info.HeadSeq, latest);
        }

        if (_open.AddOrUpdate(tenantId, 1, (_, n) => n + 1) > MaxStreamsPerTenant)
        {
            _open.AddOrUpdate(tenantId, 0, (_, n) => n - 1);
            throw new ApiException(StatusCodes.Status429TooManyRequests, "rate-limited", $"At most {MaxStreamsPerTenant} event streams per tenant are open at a time.");
        }

        try
        {
            context.Response.ContentType = ContentType;
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers["X-Accel-Buffering"] = "no";
            var stopping = context.RequestAborted;
            var writer = new EventWriter(context.Response.Body, stopping);
            await writer.RawAsync("retry: 2000");
            await writer.SendAsync("ready", null, new JsonObject { ["did"] = did, ["headSeq"] = info.HeadSeq, ["root"] = info.Root, ["cursor"] = Format(seq, activity) });

            var lastKeyCheck = time.GetUtcNow();
            var lastProgress = DateTimeOffset.MinValue;
            var lastWrite = time.GetUtcNow();
            string? lastProgressJson = null;
            while (!stopping.IsCancellationRequested)
            {
                if (time.GetUtcNow() - lastKeyCheck >= KeyCheckEvery)
                {
                    lastKeyCheck = time.GetUtcNow();
                    if (!await auth.IsTenantKeyLiveAsync(context))
                    {
                        await writer.SendAsync("end", Format(seq, activity), new JsonObject { ["reason"] = "The API key was revoked." });
                        return;
                    }
                }

                using (principals.Enter(CallPrincipal.ForTenant(tenantId)))
                {
                    try
                    {
                        info = await node.GetInfoAsync();
                    }
                    catch (NotHostedException)
                    {
                        await writer.SendAsync("end", Format(seq, activity), new JsonObject { ["reason"] = "The exit node was deleted." });
                        return;
                    }

                    var sent = false;
                    if (info.HeadSeq > seq)
                    {
                        (seq, sent) = await SendCommitsAsync(writer, node, seq, activity);
                    }

                    var page = await node.GetActivityAsync(activity, ActivityPage);
                    if (page.Truncated)
                    {
                        await writer.SendAsync("gap", null, new JsonObject { ["what"] = "activity", ["detail"] = "Older clone and registration events than these were no longer held." });
                    }

                    foreach (var item in page.Items)
                    {
                        activity = item.Id;
                        await writer.SendAsync(item.Kind.StartsWith("registration", StringComparison.Ordinal) ? "registration" : "clone", Format(seq, activity), ActivityJson(item));
                        sent = true;
                    }

                    var now = time.GetUtcNow();
                    if (now - lastProgress >= ProgressEvery)
                    {
                        lastProgress = now;
                        var progress = await ProgressAsync(node, info);
                        var json = progress.ToJsonString();
                        if (json != lastProgressJson)
                        {
                            lastProgressJson = json;
                            await writer.SendAsync("progress", null, progress);
                            sent = true;
                        }
                    }

                    if (sent)
                    {
                        lastWrite = now;
                    }
                    else if (now - lastWrite >= KeepAliveEvery)
                    {
                        await writer.RawAsync(": keep-alive");
                        lastWrite = now;
                    }
                }

                await Task.Delay(Poll, time, stopping);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            _open.AddOrUpdate(tenantId, 0, (_, n) => n - 1);
        }
    }

    /// <summary>The commits after <paramref name="seq"/>, one page of updates at a time, each whole commit once.</summary>
    private static async Task<(long Seq, bool Sent)> SendCommitsAsync(EventWriter writer, IExitNodeGrain node, long seq, long activity)
    {
        var page = await node.GetUpdatesAsync(seq, CommitPageUpdates);
        if (page.ResyncRequired)
        {
            var retained = (await node.GetInfoAsync()).RetainedFromSeq;
            await writer.SendAsync("gap", null, new JsonObject { ["what"] = "commits", ["detail"] = $"Commits up to seq {retained - 1} are no longer retained." });
            return (Math.Max(seq, retained - 1), true);
        }

        var sent = false;
        foreach (var commit in CommitsOf(page).Where(c => c["fromSeq"]!.GetValue<long>() > seq))
        {
            if (commit["fromSeq"]!.GetValue<long>() != seq + 1)
            {
                break; // a commit not yet whole in this page comes with the next one
            }

            seq = commit["toSeq"]!.GetValue<long>();
            await writer.SendAsync("commit", Format(seq, activity), commit);
            sent = true;
        }

        return (seq, sent);
    }

    /// <summary>Each commit of a page once, in seq order, summed up for the owner: update count and authors (clone ids, or the node's DID).</summary>
    internal static IEnumerable<JsonObject> CommitsOf(StoredUpdatePage page)
    {
        var authors = new Dictionary<long, string>();
        foreach (var update in page.Updates)
        {
            var json = JsonNode.Parse(update.Json) as JsonObject;
            var clone = json?["sourceCloneId"]?.GetValue<string>();
            authors[update.Seq] = string.IsNullOrEmpty(clone) ? json?["sourceDid"]?.GetValue<string>() ?? string.Empty : clone;
        }

        foreach (var commit in page.Commits.DistinctBy(c => c.FromSeq).OrderBy(c => c.FromSeq))
        {
            var by = new JsonArray([.. Enumerable.Range(0, (int)(commit.ToSeq - commit.FromSeq + 1))
                .Select(i => authors.GetValueOrDefault(commit.FromSeq + i))
                .Where(a => !string.IsNullOrEmpty(a))
                .Distinct(StringComparer.Ordinal)
                .Select(a => (JsonNode)JsonValue.Create(a)!)]);
            yield return new JsonObject
            {
                ["fromSeq"] = commit.FromSeq,
                ["toSeq"] = commit.ToSeq,
                ["updateCount"] = commit.ToSeq - commit.FromSeq + 1,
                ["timestamp"] = commit.Timestamp,
                ["root"] = commit.Root,
                ["authors"] = by,
                ["commit"] = ProtocolModel.ToJsonObject(commit),
            };
        }
    }

    private static async Task<JsonObject> ProgressAsync(IExitNodeGrain node, ExitNodeInfo info)
    {
        var clones = await node.ListClonesAsync(null, ProgressClones);
        return new JsonObject
        {
            ["headSeq"] = info.HeadSeq,
            ["root"] = info.Root,
            ["stateBytes"] = info.StateBytes,
            ["clones"] = new JsonArray([.. clones.Items.Select(c => (JsonNode)new JsonObject
            {
                ["cloneId"] = c.CloneId,
                ["trustLevel"] = JsonSerializer.SerializeToNode(c.TrustLevel, ProtocolModel.Options),
                ["connected"] = c.Connected,
                ["cursor"] = c.Cursor,
                ["lag"] = Math.Max(0, info.HeadSeq - c.Cursor),
            })]),
        };
    }

    private static JsonObject ActivityJson(NodeActivity item) => new()
    {
        ["id"] = item.Id,
        ["kind"] = item.Kind,
        ["cloneId"] = item.CloneId,
        ["cloneDid"] = item.CloneDid,
        ["reason"] = item.Reason,
        ["at"] = item.AtMs,
        ["permissions"] = new JsonArray([.. item.Permissions.Select(p => (JsonNode)JsonValue.Create(p)!)]),
    };

    private static string Format(long seq, long activity) => string.Create(CultureInfo.InvariantCulture, $"{seq}.{activity}");

    /// <summary><c>&lt;seq&gt;.&lt;activity id&gt;</c>, both 0 or more; anything else is a bad request, not a silent restart.</summary>
    private static (long Seq, long Activity, bool Resumed) Cursor(string header)
    {
        if (header.Length == 0)
        {
            return (0, 0, false);
        }

        var parts = header.Split('.');
        return header.Length <= 64 && parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var activity)
            ? (seq, activity, true)
            : throw ApiJson.Bad("Last-Event-ID is <seq>.<activity id>, as an event's id gave it.");
    }

    /// <summary>Writes events in the text/event-stream format, flushing each.</summary>
    private sealed class EventWriter(Stream output, CancellationToken stopping)
    {
        public Task SendAsync(string name, string? id, JsonObject data)
        {
            var text = new StringBuilder();
            if (id is not null)
            {
                text.Append("id: ").Append(id).Append('\n');
            }

            text.Append("event: ").Append(name).Append('\n');
            text.Append("data: ").Append(JavaScriptJson.Stringify(data)).Append("\n\n");
            return WriteAsync(text.ToString());
        }

        public Task RawAsync(string line) => WriteAsync(line + "\n\n");

        private async Task WriteAsync(string text)
        {
            await output.WriteAsync(Encoding.UTF8.GetBytes(text), stopping);
            await output.FlushAsync(stopping);
        }
    }
}
