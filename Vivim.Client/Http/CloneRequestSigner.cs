using Vivim.Protocol.Http;
using Vivim.Protocol.Identity;

namespace Vivim.Client.Http;

/// <summary>
/// Signs every request it sends with the clone's key (RFC 9421, as docs/api.md §Authentication describes): <c>@method</c>,
/// <c>@path</c>, <c>@query</c> when there is one, <c>content-digest</c> when there is a body. The target signed is
/// the one sent on the wire (<see cref="Uri.PathAndQuery"/>), so clone ids with <c>:</c> stay as they are.
/// </summary>
public sealed class CloneRequestSigner : DelegatingHandler
{
    private readonly SigningKey _key;
    private readonly TimeProvider _time;

    public CloneRequestSigner(SigningKey key, HttpMessageHandler innerHandler, TimeProvider? timeProvider = null)
        : base(innerHandler)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The path and query a request to <paramref name="uri"/> puts on its request line.</summary>
    public static string TargetOf(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return uri.PathAndQuery;
    }

    /// <summary>The signature headers for a request, to set on anything that is not an <see cref="HttpRequestMessage"/> (a WebSocket upgrade).</summary>
    public static HttpMessageSignature.Headers SignTarget(SigningKey key, string method, string target, ReadOnlySpan<byte> body, bool hasBody, TimeProvider? timeProvider = null) =>
        HttpMessageSignature.Sign(key, method, target, body, hasBody, (timeProvider ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds());

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri ?? throw new InvalidOperationException("A signed request needs an absolute URI.");
        // The body is buffered content the client built (ByteArrayContent), so reading it here does not consume it.
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var headers = SignTarget(_key, request.Method.Method, TargetOf(uri), body, request.Content is not null, _time);
        request.Headers.Remove(HttpMessageSignature.SignatureInputHeader);
        request.Headers.Remove(HttpMessageSignature.SignatureHeader);
        request.Headers.Remove(HttpMessageSignature.ContentDigestHeader);
        request.Headers.TryAddWithoutValidation(HttpMessageSignature.SignatureInputHeader, headers.SignatureInput);
        request.Headers.TryAddWithoutValidation(HttpMessageSignature.SignatureHeader, headers.Signature);
        if (headers.ContentDigest is { } digest)
        {
            request.Headers.TryAddWithoutValidation(HttpMessageSignature.ContentDigestHeader, digest);
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
