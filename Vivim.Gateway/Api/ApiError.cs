using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Vivim.Clones;
using Vivim.ExitNodes;
using Vivim.Gateway.Limits;
using Vivim.Protocol;
using Vivim.Protocol.Sync;
using Vivim.Security;
using Vivim.Storage;
using Vivim.Telemetry;
using Vivim.Tenants;

namespace Vivim.Gateway.Api;

/// <summary>
/// A refused or failed call as every transport answers it: HTTP as a problem (<see cref="ApiProblem"/>), the libp2p
/// <c>/vivim/*</c> protocols as <c>{"error":{code, message}}</c>. One mapping, so a condition has one code everywhere.
/// </summary>
/// <param name="Extensions">Members beside the error (a refused batch's <c>rejections</c>).</param>
/// <param name="RetryAfter">How long a rate-limited or unavailable caller should wait.</param>
public sealed partial record ApiError(int Status, string Code, string Message, IReadOnlyDictionary<string, JsonNode?>? Extensions = null, TimeSpan? RetryAfter = null)
{
    /// <summary>The error for <paramref name="e"/>, or null when it is unexpected (a bug: log it, answer internal-error).</summary>
    public static ApiError? From(Exception e) => e switch
    {
        RateLimitedException limited => new(StatusCodes.Status429TooManyRequests, "rate-limited", limited.Message, RetryAfter: limited.RetryAfter),
        ApiException api => new(api.Status, api.Code, api.Message),

        // Another tenant's resource and a missing one look the same from outside.
        AccessDeniedException => new(StatusCodes.Status404NotFound, "not-found", "Not found."),
        NotHostedException => new(StatusCodes.Status404NotFound, "not-found", e.Message),
        ExitNodeConflictException => new(StatusCodes.Status409Conflict, "already-hosted", e.Message),
        TenantStateException => new(StatusCodes.Status409Conflict, "invalid-state", e.Message),
        QuotaExceededException => QuotaRefused(e),
        UpdateLogLimitException => new(StatusCodes.Status413PayloadTooLarge, UpdateLogLimitException.Code, e.Message),
        CloneAccessDeniedException => new(StatusCodes.Status403Forbidden, "clone-revoked", e.Message),
        ProtocolException protocol => new(StatusCodes.Status400BadRequest, protocol.Code, protocol.Message),
        ArgumentException argument => new(StatusCodes.Status400BadRequest, "invalid-request", WithoutParameterName(argument)),
        BadHttpRequestException bad => new(bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "too-large" : "bad-request", BindingMessage(bad)),
        System.Text.Json.JsonException => new(StatusCodes.Status400BadRequest, "json-malformed", "The body is not valid JSON."),
        InvalidOperationException => new(StatusCodes.Status409Conflict, "invalid-state", e.Message),
        TimeoutException or SiloUnavailableException or OrleansMessageRejectionException =>
            new(StatusCodes.Status503ServiceUnavailable, "unavailable", "The cluster did not answer in time; retry.", RetryAfter: TimeSpan.FromSeconds(1)),

        // Nothing was acknowledged: the storage (Azure Storage unreachable, throttling or failing) did not take the write.
        _ when Vivim.Hosting.AzureStorageFaults.IsUnavailable(e) =>
            new(StatusCodes.Status503ServiceUnavailable, "storage-unavailable", "The storage did not answer; nothing was written. Retry.", RetryAfter: TimeSpan.FromSeconds(1)),
        _ => null,
    };

    private static ApiError QuotaRefused(Exception e)
    {
        VivimMetrics.Refused("quota", "tenant");
        return new(StatusCodes.Status403Forbidden, "quota-exceeded", e.Message);
    }

    /// <summary>The message without .NET's " (Parameter 'x')" suffix, which names our code, not the caller's input.</summary>
    private static string WithoutParameterName(ArgumentException e)
    {
        var message = e.Message;
        var suffix = e.ParamName is null ? -1 : message.LastIndexOf($" (Parameter '{e.ParamName}')", StringComparison.Ordinal);
        return suffix > 0 ? message[..suffix] : message;
    }

    /// <summary>
    /// ASP.NET Core's binding failures name the handler's parameter with its C# type ("Failed to bind parameter
    /// \"int? limit\" from \"abc\"."); the caller gets the name it sent and what was wrong.
    /// </summary>
    private static string BindingMessage(BadHttpRequestException e)
    {
        var failed = BindingFailure().Match(e.Message);
        if (failed.Success)
        {
            return $"'{failed.Groups["name"].Value}' is not a valid value here: \"{Vivim.Hosting.LogValue.Clip(failed.Groups["value"].Value)}\".";
        }

        var missing = MissingValue().Match(e.Message);
        if (missing.Success)
        {
            return $"'{missing.Groups["name"].Value}' is required.";
        }

        return e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The body is too large." : "The request is malformed.";
    }

    [GeneratedRegex("^Failed to bind parameter \"(?:[^\"]* )?(?<name>\\w+)\" from \"(?<value>.*)\"\\.$", RegexOptions.Singleline)]
    private static partial Regex BindingFailure();

    [GeneratedRegex("^Required parameter \"(?:[^\"]* )?(?<name>\\w+)\" was not provided", RegexOptions.Singleline)]
    private static partial Regex MissingValue();

    /// <summary>A refused batch: 400, 403 when trust forbids writes or the state quota is used up, 409 for a baseSeq conflict; nothing was committed.</summary>
    public static ApiError Rejected(SubmitResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var (status, code) = result.Outcome switch
        {
            SubmitOutcome.Forbidden => (StatusCodes.Status403Forbidden, "write-forbidden"),
            SubmitOutcome.Conflict => (StatusCodes.Status409Conflict, "conflict"),
            SubmitOutcome.QuotaExceeded => (StatusCodes.Status403Forbidden, "quota-exceeded"),
            _ => (StatusCodes.Status400BadRequest, "batch-rejected"),
        };
        var first = result.Rejections.FirstOrDefault(r => r.Code != RejectionCodes.BatchAborted) ?? result.Rejections.FirstOrDefault();
        var detail = first is null ? "The batch was rejected; nothing was committed." : $"Update {first.Index} was rejected ({first.Code}): {first.Reason} Nothing was committed.";
        var rejections = new JsonArray([.. result.Rejections.Select(r => (JsonNode)new JsonObject
        {
            ["index"] = r.Index,
            ["updateId"] = r.UpdateId,
            ["code"] = r.Code,
            ["reason"] = r.Reason,
        })]);
        return new(status, code, detail, new Dictionary<string, JsonNode?> { ["rejections"] = rejections });
    }

    /// <summary>Whole seconds for a <c>Retry-After</c> header (at least 1).</summary>
    public int? RetryAfterSeconds => RetryAfter is { } wait ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : null;
}
