using Vivim.Clones;
using Vivim.ExitNodes;
using Vivim.Protocol;
using Vivim.Security;
using Vivim.Tenants;

namespace Vivim.Gateway.Api;

/// <summary>
/// Turns every failure of an API request into a problem answer: the gateway's own refusals, the grains' typed
/// exceptions, and anything unexpected (logged, answered 500 without details). Nothing reaches Kestrel unhandled.
/// </summary>
public sealed partial class ApiErrors(RequestDelegate next, ILogger<ApiErrors> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && e is not OutOfMemoryException)
        {
            if (e is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
            {
                return; // the client went away
            }

            var problem = Map(e, out var retryAfter);
            if (problem is null)
            {
                LogUnexpected(logger, e, context.Request.Method, context.Request.Path);
                problem = ApiProblem.Create(StatusCodes.Status500InternalServerError, "internal-error", "The request failed inside the service; it has been logged.");
            }

            context.Response.Clear();
            if (retryAfter is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            await problem.ExecuteAsync(context);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Too late for an answer (a streamed export, a WebSocket): end the connection, so a truncated body is not taken for a whole one.
            LogUnexpected(logger, e, context.Request.Method, context.Request.Path);
            context.Abort();
        }
    }

    private static IResult? Map(Exception e, out int? retryAfter)
    {
        retryAfter = null;
        switch (e)
        {
            case Limits.RateLimitedException limited:
                retryAfter = limited.RetryAfterSeconds;
                return ApiProblem.Create(StatusCodes.Status429TooManyRequests, "rate-limited", limited.Message);
            case ApiException api:
                return ApiProblem.Create(api.Status, api.Code, api.Message);
            case AccessDeniedException or NotHostedException:
                // Another tenant's resource and a missing one look the same from outside.
                return ApiProblem.NotFound(e is NotHostedException ? e.Message : "Not found.");
            case ExitNodeConflictException:
                return ApiProblem.Create(StatusCodes.Status409Conflict, "already-hosted", e.Message);
            case TenantStateException:
                return ApiProblem.Create(StatusCodes.Status409Conflict, "invalid-state", e.Message);
            case QuotaExceededException:
                return ApiProblem.Forbidden("quota-exceeded", e.Message);
            case CloneAccessDeniedException:
                return ApiProblem.Forbidden("clone-revoked", e.Message);
            case ProtocolException protocol:
                return ApiProblem.BadRequest(protocol.Code, protocol.Message);
            case ArgumentException:
                return ApiProblem.BadRequest("invalid-request", e.Message);
            case BadHttpRequestException bad:
                return ApiProblem.Create(bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "too-large" : "bad-request", bad.Message);
            case System.Text.Json.JsonException:
                return ApiProblem.BadRequest("json-malformed", "The body is not valid JSON.");
            case InvalidOperationException:
                return ApiProblem.Create(StatusCodes.Status409Conflict, "invalid-state", e.Message);
            case TimeoutException or SiloUnavailableException or OrleansMessageRejectionException:
                retryAfter = 1;
                return ApiProblem.Create(StatusCodes.Status503ServiceUnavailable, "unavailable", "The cluster did not answer in time; retry.");
            default:
                return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string method, string path);
}
