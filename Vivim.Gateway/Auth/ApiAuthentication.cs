using Microsoft.Extensions.Options;
using Vivim.Clones;
using Vivim.Gateway.Api;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.Limits;
using Vivim.Hosting;
using Vivim.Protocol.Http;
using Vivim.Security;
using Vivim.Tenants;

namespace Vivim.Gateway.Auth;

/// <summary>
/// Authenticates API requests (operator key, tenant API keys, clones' RFC 9421 signatures) and runs the endpoint
/// inside the principal it established, so every grain call it makes carries that principal into the cluster.
/// </summary>
public sealed class ApiAuthentication(
    IGrainFactory grains,
    CallPrincipals principals,
    OperatorKey operatorKey,
    TenantKeyGrants grants,
    GatewayRateLimiter limiter,
    IOptions<GatewayOptions> options,
    TimeProvider time)
{
    private const string TenantKey = "vivim.tenant";

    /// <summary>The authenticated tenant of this request.</summary>
    public static TenantGrant Tenant(HttpContext context) =>
        context.Items[TenantKey] as TenantGrant ?? throw new InvalidOperationException("Not a tenant route.");

    public async ValueTask<object?> OperatorAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        if (!operatorKey.Matches(Bearer(invocation.HttpContext)))
        {
            throw new ApiException(StatusCodes.Status401Unauthorized, "unauthorized", "This route needs the operator key as a bearer token.");
        }

        using (principals.Enter(CallPrincipal.Operator))
        {
            return await next(invocation);
        }
    }

    public async ValueTask<object?> TenantAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        if (!ApiKeyFormat.TryParse(Bearer(context), out var tenantId, out var keyId, out var secret))
        {
            throw new ApiException(StatusCodes.Status401Unauthorized, "unauthorized", "This route needs a tenant API key as a bearer token.");
        }

        var secretHash = ApiKeyFormat.HashSecret(secret);
        var grant = grants.Find(tenantId, keyId, secretHash);
        if (grant is null)
        {
            var askedAt = grants.Asking();
            using (principals.Enter(CallPrincipal.Service))
            {
                grant = await grains.GetResolvedGrain<ITenantGrain>(tenantId).VerifyApiKeyAsync(keyId, secretHash);
            }

            if (grant is not null)
            {
                grants.Keep(tenantId, keyId, secretHash, grant, askedAt);
            }
        }

        if (grant is null)
        {
            throw new ApiException(StatusCodes.Status401Unauthorized, "unauthorized", "The API key is not valid.");
        }

        limiter.ForTenant(grant.TenantId, grant.Quotas.RequestsPerSecond ?? 1);
        context.Items[TenantKey] = grant;
        using (principals.Enter(CallPrincipal.ForTenant(grant.TenantId)))
        {
            return await next(invocation);
        }
    }

    public async ValueTask<object?> CloneAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var cloneId = context.Request.RouteValues["cloneId"] as string ?? string.Empty;
        await AuthenticateCloneAsync(context, cloneId);
        using (principals.Enter(CallPrincipal.ForClone(cloneId)))
        {
            return await next(invocation);
        }
    }

    public async ValueTask<object?> PublicAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        using (principals.Enter(CallPrincipal.Public))
        {
            return await next(invocation);
        }
    }

    /// <summary>
    /// Checks a clone request's RFC 9421 signature over the raw target and body, its <c>created</c> window, and with the
    /// Clone grain that the key is this clone's and the nonce is new. 401 for any doubt; 403 for a revoked clone.
    /// </summary>
    public async Task AuthenticateCloneAsync(HttpContext context, string cloneId)
    {
        var request = context.Request;
        var hasBody = ApiJson.HasBody(request);
        var body = hasBody ? await ApiJson.ReadBodyAsync(context, options.Value.MaxRequestBytes) : [];
        SignatureParameters parameters;
        try
        {
            parameters = HttpMessageSignature.Verify(
                request.Headers[HttpMessageSignature.SignatureInputHeader].ToString(),
                request.Headers[HttpMessageSignature.SignatureHeader].ToString(),
                request.Headers[HttpMessageSignature.ContentDigestHeader].ToString(),
                request.Method,
                ApiJson.RawTarget(context),
                body,
                hasBody);
        }
        catch (HttpSignatureException e)
        {
            throw new ApiException(StatusCodes.Status401Unauthorized, "invalid-request-signature", e.Message);
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var window = (long)options.Value.SignatureWindow.TotalSeconds;
        if (parameters.Created < now - window || parameters.Created > now + window)
        {
            throw new ApiException(StatusCodes.Status401Unauthorized, "stale-signature", $"The signature's created time is more than {window} s from the server's clock.");
        }

        RequestAuthentication outcome;
        using (principals.Enter(CallPrincipal.Service))
        {
            // A captured non-read request replayed after a restart must still be refused: its nonce is spent durably.
            var changesState = !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method);
            outcome = await grains.GetResolvedGrain<ICloneGrain>(cloneId).AuthenticateRequestAsync(parameters.KeyId, parameters.Nonce, parameters.Created * 1000, changesState);
        }

        Require(outcome);
    }

    /// <summary>The Clone grain's verdict on a caller as the API answers it: 401 <c>unauthorized</c>, 403 <c>clone-revoked</c>.</summary>
    public static void Require(RequestAuthentication outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        switch (outcome.Outcome)
        {
            case RequestAuthenticationOutcome.Accepted:
                return;
            case RequestAuthenticationOutcome.Revoked:
                throw new ApiException(StatusCodes.Status403Forbidden, "clone-revoked", outcome.Reason);
            default:
                throw new ApiException(StatusCodes.Status401Unauthorized, "unauthorized", outcome.Reason);
        }
    }

    /// <summary>
    /// Whether the tenant key this request came with is still live: a long response (an event stream) asks again now
    /// and then, so that revoking a key ends what it opened.
    /// </summary>
    public async Task<bool> IsTenantKeyLiveAsync(HttpContext context)
    {
        if (!ApiKeyFormat.TryParse(Bearer(context), out var tenantId, out var keyId, out var secret))
        {
            return false;
        }

        using (principals.Enter(CallPrincipal.Service))
        {
            return await grains.GetResolvedGrain<ITenantGrain>(tenantId).VerifyApiKeyAsync(keyId, ApiKeyFormat.HashSecret(secret)) is not null;
        }
    }

    private static string? Bearer(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
    }
}
