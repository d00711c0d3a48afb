using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Vivim.Protocol;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Merkle;
using Vivim.Protocol.Model;
using Vivim.Protocol.State;
using Vivim.Protocol.Sync;

namespace Vivim.Client.Http;

/// <summary>
/// A tenant's management calls (docs/api.md §Tenants, §Exit nodes), authenticated with its API key: exit nodes,
/// their advertisement and policy, owner writes and reads (each read's Merkle proof checked), and their clones.
/// </summary>
public sealed class TenantClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _gateway;
    private readonly string _apiKey;
    private readonly bool _ownsClient;

    public TenantClient(Uri gateway, string apiKey, HttpClient? http = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        _gateway = GatewayAddress.Normalize(gateway);
        _apiKey = apiKey;
        _ownsClient = http is null;
        _http = http ?? new HttpClient();
    }

    /// <summary>Creates a hosted exit node; without a seed the service makes a custodial did:key.</summary>
    public async Task<(string Did, ExitNodeAdvertisement Advertisement)> CreateExitNodeAsync(
        IReadOnlyList<string>? capabilities = null, ExitNodePolicy? policy = null, ExitNodeEndpoints? endpoints = null, string? privateKeySeedHex = null, CancellationToken cancellationToken = default)
    {
        var body = AdvertisementBody(capabilities, policy, endpoints);
        if (privateKeySeedHex is not null)
        {
            body["privateKeySeedHex"] = privateKeySeedHex;
        }

        var json = await SendAsync(HttpMethod.Post, "/v1/exit-nodes", body, HttpStatusCode.Created, cancellationToken).ConfigureAwait(false);
        var did = GatewayHttp.Text(json, "did") ?? throw Invalid("no did");
        var advertisement = AdvertisementVerifier.Verify(json["advertisement"] as JsonObject ?? throw Invalid("no advertisement"), did);
        return (did, advertisement);
    }

    public async Task<IReadOnlyList<ExitNodeListing>> ListExitNodesAsync(CancellationToken cancellationToken = default)
    {
        var items = new List<ExitNodeListing>();
        await foreach (var item in PagesAsync("/v1/exit-nodes", cancellationToken).ConfigureAwait(false))
        {
            items.Add(new ExitNodeListing(GatewayHttp.Text(item, "did") ?? throw Invalid("an item has no did"), GatewayHttp.Integer(item, "headSeq", HttpStatusCode.OK), (int)GatewayHttp.Integer(item, "cloneCount", HttpStatusCode.OK)));
        }

        return items;
    }

    public async Task<ExitNodeDetails> GetExitNodeAsync(string did, CancellationToken cancellationToken = default)
    {
        var json = await SendAsync(HttpMethod.Get, $"/v1/exit-nodes/{did}", null, HttpStatusCode.OK, cancellationToken).ConfigureAwait(false);
        return new ExitNodeDetails(
            did,
            AdvertisementVerifier.Verify(json["advertisement"] as JsonObject ?? throw Invalid("no advertisement"), did),
            GatewayHttp.Integer(json, "headSeq", HttpStatusCode.OK),
            GatewayHttp.Text(json, "root") ?? string.Empty,
            (int)GatewayHttp.Integer(json, "cloneCount", HttpStatusCode.OK));
    }

    /// <summary>Changes what the node advertises (capabilities, policy, endpoints) and re-signs the advertisement.</summary>
    public async Task<ExitNodeAdvertisement> UpdateAdvertisementAsync(string did, IReadOnlyList<string>? capabilities = null, ExitNodePolicy? policy = null, ExitNodeEndpoints? endpoints = null, CancellationToken cancellationToken = default)
    {
        var json = await SendAsync(HttpMethod.Put, $"/v1/exit-nodes/{did}/advertisement", AdvertisementBody(capabilities, policy, endpoints), HttpStatusCode.OK, cancellationToken).ConfigureAwait(false);
        return AdvertisementVerifier.Verify(json, did);
    }

    public Task DeleteExitNodeAsync(string did, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"/v1/exit-nodes/{did}", null, HttpStatusCode.NoContent, cancellationToken);

    /// <summary>Writes as the owner (signed by the parent's key on the service), atomically.</summary>
    public async Task<SubmitResult> WriteAsync(string did, IReadOnlyList<OwnerUpdate> updates, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(updates);
        var items = new JsonArray();
        foreach (var update in updates)
        {
            var item = new JsonObject();
            if (update.UpdateId is not null)
            {
                item["updateId"] = update.UpdateId;
            }

            item["type"] = System.Text.Json.JsonSerializer.SerializeToNode(update.Type, ProtocolModel.Options);
            item["operation"] = System.Text.Json.JsonSerializer.SerializeToNode(update.Operation, ProtocolModel.Options);
            item["path"] = update.Path;
            item["data"] = update.Data.Parse();
            if (update.BaseSeq is { } baseSeq)
            {
                item["baseSeq"] = baseSeq;
            }

            items.Add(item);
        }

        using var request = Request(HttpMethod.Post, $"/v1/exit-nodes/{did}/updates", new JsonObject { ["updates"] = items });
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        return await UpdateBatches.ReadResultAsync(response, GatewayHttp.MaxResponseBytes, revocationOn403: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a document with its proof; the proof is checked against the root served with it. Null when there is no such document.</summary>
    /// <exception cref="InvalidDataException">The Merkle proof does not prove the document under the root.</exception>
    public async Task<DocumentProof?> GetDocumentAsync(string did, string path, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Get, $"/v1/exit-nodes/{did}/documents/{path}", null);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            var problem = await GatewayHttp.ProblemAsync(response, cancellationToken).ConfigureAwait(false);
            return problem.Code is "not-found" or "document-not-found" ? null : throw problem;
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw await GatewayHttp.ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }

        var json = await GatewayHttp.ReadObjectAsync(response, GatewayHttp.MaxResponseBytes, cancellationToken).ConfigureAwait(false);
        var proof = GatewayHttp.Model<DocumentProof>(json, response.StatusCode);
        bool proven;
        try
        {
            proven = MerkleVerifier.Verify(proof.Root, proof.Path, StateRules.DocumentValue(proof.Document), proof.MerkleProof);
        }
        catch (Exception e) when (e is ProtocolException or FormatException)
        {
            proven = false;
        }

        return proven && proof.Path == path ? proof : throw new InvalidDataException($"The gateway's proof for {path} does not verify against root {proof.Root}.");
    }

    public async Task<IReadOnlyList<CloneSummary>> ListClonesAsync(string did, CancellationToken cancellationToken = default)
    {
        var items = new List<CloneSummary>();
        await foreach (var item in PagesAsync($"/v1/exit-nodes/{did}/clones", cancellationToken).ConfigureAwait(false))
        {
            items.Add(GatewayHttp.Model<CloneSummary>(item, HttpStatusCode.OK));
        }

        return items;
    }

    /// <summary>Suspends a clone at once (its sessions close, reads and writes are refused); returns the signed record of it.</summary>
    public async Task<TrustProof> SuspendCloneAsync(string did, string cloneId, string? reason = null, CancellationToken cancellationToken = default) =>
        GatewayHttp.Model<TrustProof>(await SendAsync(HttpMethod.Post, $"/v1/exit-nodes/{did}/clones/{cloneId}/suspend", Reason(reason), HttpStatusCode.OK, cancellationToken).ConfigureAwait(false), HttpStatusCode.OK);

    public async Task<TrustProof> ReinstateCloneAsync(string did, string cloneId, string? reason = null, CancellationToken cancellationToken = default) =>
        GatewayHttp.Model<TrustProof>(await SendAsync(HttpMethod.Post, $"/v1/exit-nodes/{did}/clones/{cloneId}/reinstate", Reason(reason), HttpStatusCode.OK, cancellationToken).ConfigureAwait(false), HttpStatusCode.OK);

    public Task RemoveCloneAsync(string did, string cloneId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"/v1/exit-nodes/{did}/clones/{cloneId}", null, HttpStatusCode.NoContent, cancellationToken);

    public void Dispose()
    {
        if (_ownsClient)
        {
            _http.Dispose();
        }
    }

    private static JsonObject Reason(string? reason) => reason is null ? [] : new JsonObject { ["reason"] = reason };

    private static JsonObject AdvertisementBody(IReadOnlyList<string>? capabilities, ExitNodePolicy? policy, ExitNodeEndpoints? endpoints)
    {
        var body = new JsonObject();
        if (capabilities is not null)
        {
            body["capabilities"] = new JsonArray([.. capabilities.Select(c => (JsonNode)c)]);
        }

        if (policy is not null)
        {
            body["policy"] = ProtocolModel.ToJsonObject(policy);
        }

        if (endpoints is not null)
        {
            body["endpoints"] = ProtocolModel.ToJsonObject(endpoints);
        }

        return body;
    }

    private async IAsyncEnumerable<JsonObject> PagesAsync(string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? cursor = null;
        for (var pages = 0; pages < 10_000; pages++)
        {
            var target = cursor is null ? path : path + "?cursor=" + Uri.EscapeDataString(cursor);
            var json = await SendAsync(HttpMethod.Get, target, null, HttpStatusCode.OK, cancellationToken).ConfigureAwait(false);
            foreach (var item in json["items"] as JsonArray ?? throw Invalid("no items"))
            {
                yield return item as JsonObject ?? throw Invalid("an item is not an object");
            }

            cursor = GatewayHttp.Text(json, "nextCursor");
            if (string.IsNullOrEmpty(cursor))
            {
                yield break;
            }
        }
    }

    private HttpRequestMessage Request(HttpMethod method, string target, JsonNode? body)
    {
        var request = new HttpRequestMessage(method, new Uri(_gateway, target));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        if (body is not null)
        {
            request.Content = GatewayHttp.JsonContent(body);
        }

        return request;
    }

    private async Task<JsonObject> SendAsync(HttpMethod method, string target, JsonNode? body, HttpStatusCode expected, CancellationToken cancellationToken)
    {
        using var request = Request(method, target, body);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != expected)
        {
            throw await GatewayHttp.ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }

        return expected == HttpStatusCode.NoContent
            ? []
            : await GatewayHttp.ReadObjectAsync(response, GatewayHttp.MaxResponseBytes, cancellationToken).ConfigureAwait(false);
    }

    private static GatewayException Invalid(string what) =>
        new(HttpStatusCode.OK, "invalid-response", string.Create(CultureInfo.InvariantCulture, $"The gateway's answer is misshapen: {what}."));
}
