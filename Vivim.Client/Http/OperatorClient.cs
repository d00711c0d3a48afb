using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Vivim.Client.Http;

/// <summary>The operator's calls: creating and deleting tenants, with the operator key.</summary>
public sealed class OperatorClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _gateway;
    private readonly string _operatorKey;
    private readonly bool _ownsClient;

    public OperatorClient(Uri gateway, string operatorKey, HttpClient? http = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(operatorKey);
        _gateway = GatewayAddress.Normalize(gateway);
        _operatorKey = operatorKey;
        _ownsClient = http is null;
        _http = http ?? new HttpClient();
    }

    /// <returns>The tenant's id and its API key, which the gateway shows only this once.</returns>
    public async Task<(string TenantId, string ApiKey)> CreateTenantAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        using var request = Request(HttpMethod.Post, "/v1/tenants");
        request.Content = GatewayHttp.JsonContent(new JsonObject { ["name"] = name });
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw await GatewayHttp.ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }

        var json = await GatewayHttp.ReadObjectAsync(response, GatewayHttp.MaxResponseBytes, cancellationToken).ConfigureAwait(false);
        return (
            GatewayHttp.Text(json, "tenantId") ?? throw new GatewayException(response.StatusCode, "invalid-response", "No tenantId in the answer."),
            GatewayHttp.Text(json, "apiKey") ?? throw new GatewayException(response.StatusCode, "invalid-response", "No apiKey in the answer."));
    }

    /// <summary>Deletes a tenant with its exit nodes, clones and data.</summary>
    public async Task DeleteTenantAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        using var request = Request(HttpMethod.Delete, "/v1/tenants/" + Uri.EscapeDataString(tenantId));
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.NoContent)
        {
            throw await GatewayHttp.ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        if (_ownsClient)
        {
            _http.Dispose();
        }
    }

    private HttpRequestMessage Request(HttpMethod method, string target)
    {
        var request = new HttpRequestMessage(method, new Uri(_gateway, target));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _operatorKey);
        return request;
    }
}
