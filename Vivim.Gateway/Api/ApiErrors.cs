using Vivim.Hosting;

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
                LogUnexpected(logger, e, context.Request.Method, LogValue.Clip(context.Request.Path.Value));
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
            LogUnexpected(logger, e, context.Request.Method, LogValue.Clip(context.Request.Path.Value));
            context.Abort();
        }
    }

    private static IResult? Map(Exception e, out int? retryAfter)
    {
        var error = ApiError.From(e);
        retryAfter = error?.RetryAfterSeconds;
        return error is null ? null : ApiProblem.From(error);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string method, string path);
}
