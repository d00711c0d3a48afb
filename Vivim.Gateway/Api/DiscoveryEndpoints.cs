using Microsoft.Extensions.Options;
using Vivim.ExitNodes;
using Vivim.Gateway.Auth;
using Vivim.Gateway.Hosting;
using Vivim.Gateway.Limits;
using Vivim.Protocol.Model;

namespace Vivim.Gateway.Api;

/// <summary>Public: an exit node's advertisement, its challenge, and the SDK's registration flow.</summary>
public static class DiscoveryEndpoints
{
    public static void MapDiscoveryEndpoints(this IEndpointRouteBuilder v1, ApiAuthentication auth)
    {
        var hosted = v1.ServiceProvider.GetRequiredService<HostedDidGate>();
        var open = v1.MapGroup("/exit-nodes/{did}").AddEndpointFilter(auth.PublicAsync).AddEndpointFilter(hosted.FilterAsync).WithTags("Discovery and registration");
        open.MapGet("/advertisement", AdvertisementAsync).WithName("getAdvertisement").WithSummary("The signed ExitNodeAdvertisement");
        open.MapPost("/challenge", ChallengeAsync).WithName("createChallenge").WithSummary("A single-use registration challenge");
        open.MapPost("/register", RegisterAsync).WithName("registerClone").WithSummary("The SDK's CloneRegistrationRequest; answers the SDK's CloneRegistrationResponse");
    }

    private static async Task<IResult> AdvertisementAsync(string did, IGrainFactory grains, GatewayRateLimiter limiter)
    {
        limiter.ForDid(did);
        return ApiJson.Protocol(await RegistrationCalls.AdvertisementAsync(grains, did));
    }

    private static async Task<IResult> ChallengeAsync(HttpContext context, string did, IGrainFactory grains, GatewayRateLimiter limiter, IOptions<GatewayOptions> options)
    {
        limiter.ForDid(did);
        var body = await ApiJson.ReadObjectAsync(context, options.Value.MaxSmallBodyBytes);
        return ApiJson.Protocol(await RegistrationCalls.ChallengeAsync(grains, did, body));
    }

    private static async Task<IResult> RegisterAsync(HttpContext context, string did, IGrainFactory grains, GatewayRateLimiter limiter, IOptions<GatewayOptions> options)
    {
        limiter.ForDid(did);
        var body = await ApiJson.ReadObjectAsync(context, options.Value.MaxSmallBodyBytes);
        var response = await RegistrationCalls.RegisterAsync(grains, did, body);
        var status = response.Approved ? StatusCodes.Status200OK
            : response.DenialReason == DenialReasons.RateLimitExceeded ? StatusCodes.Status429TooManyRequests
            : StatusCodes.Status403Forbidden;
        if (status == StatusCodes.Status429TooManyRequests)
        {
            context.Response.Headers.RetryAfter = "60"; // the SDK's window is a minute per DID
        }

        return ApiJson.Protocol(response, status);
    }
}
