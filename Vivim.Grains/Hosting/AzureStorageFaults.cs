using Azure;
using Azure.Identity;

namespace Vivim.Hosting;

/// <summary>Which failures of Azure Storage are worth waiting out, and how to name them in a log line.</summary>
public static class AzureStorageFaults
{
    /// <summary>
    /// The account cannot be reached, answers with a server error or throttles, or refuses the identity: a role
    /// assignment can take minutes to reach the storage service after a deploy, so a 403 at start is waited out too.
    /// </summary>
    public static bool IsTransient(Exception e) => e switch
    {
        RequestFailedException r => r.Status is 0 or 403 or 408 or 429 or >= 500,
        AuthenticationFailedException or HttpRequestException or IOException or TimeoutException or TaskCanceledException => true,
        AggregateException a => a.InnerExceptions.All(IsTransient),
        _ => false,
    };

    /// <summary>
    /// A request to the storage account failed without a verdict on the request itself (unreachable, timed out,
    /// throttled, a server error), after the SDK's own retries: the caller may retry; nothing was written.
    /// </summary>
    public static bool IsUnavailable(Exception e) => e switch
    {
        RequestFailedException r => r.Status is 0 or 408 or 429 or >= 500,
        AggregateException { InnerExceptions.Count: > 0 } a => a.InnerExceptions.All(IsUnavailable),
        _ => false,
    };

    /// <summary>
    /// One line: the status and error code, or the exception's first line. The SDK's full message lists the response's
    /// headers, which never carry the key but are noise in a start-up log.
    /// </summary>
    public static string Describe(Exception e) => e switch
    {
        RequestFailedException { Status: > 0 } r => $"HTTP {r.Status} {r.ErrorCode}".TrimEnd(),
        AggregateException { InnerExceptions.Count: > 0 } a => Describe(a.InnerExceptions[^1]),
        _ => e.Message.Split('\n', 2)[0].Trim(),
    };
}
