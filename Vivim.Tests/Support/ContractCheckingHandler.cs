using Xunit.Sdk;

namespace Vivim.Tests.Support;

/// <summary>
/// Holds every response a test receives to the OpenAPI document: a status the operation does not declare, a missing
/// required header, or a body that does not match the declared schema fails the test at the call.
/// </summary>
public sealed class ContractCheckingHandler(OpenApiContract contract, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    public ContractCheckingHandler()
        : this(OpenApiContract.Served, new SocketsHttpHandler())
    {
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (request.RequestUri is null || IsWebSocketUpgrade(request))
        {
            return response;
        }

        // Buffered, so the caller still reads the body (streamed answers included).
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var problems = contract.Check(request.Method.Method, request.RequestUri.AbsolutePath, (int)response.StatusCode, response.Headers, response.Content.Headers, body);
        if (problems.Count > 0)
        {
            response.Dispose();
            throw new XunitException("The response breaks the OpenAPI document (/openapi/v1.json):\n" + string.Join("\n", problems));
        }

        return response;
    }

    private static bool IsWebSocketUpgrade(HttpRequestMessage request) =>
        request.Headers.Upgrade.Any(u => string.Equals(u.Name, "websocket", StringComparison.OrdinalIgnoreCase));
}
