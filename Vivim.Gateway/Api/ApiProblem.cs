using Vivim.Protocol.Sync;


namespace Vivim.Gateway.Api;

/// <summary>RFC 9457 problem details with the API's stable <c>code</c>.</summary>
public static class ApiProblem
{
    public const string ContentType = "application/problem+json";

    public static IResult Create(int status, string code, string detail, IReadOnlyDictionary<string, object?>? extensions = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["type"] = "https://vivim.cloud/problems/" + code,
            ["title"] = Title(status),
            ["status"] = status,
            ["code"] = code,
            ["detail"] = detail,
        };
        foreach (var (key, value) in extensions ?? new Dictionary<string, object?>())
        {
            body[key] = value;
        }

        return Results.Json(body, statusCode: status, contentType: ContentType);
    }

    public static IResult BadRequest(string code, string detail) => Create(StatusCodes.Status400BadRequest, code, detail);

    public static IResult NotFound(string detail) => Create(StatusCodes.Status404NotFound, "not-found", detail);

    public static IResult Unauthorized(string detail) => Create(StatusCodes.Status401Unauthorized, "unauthorized", detail);

    public static IResult Forbidden(string code, string detail) => Create(StatusCodes.Status403Forbidden, code, detail);

    /// <summary>A refused batch: 400, 403 when trust forbids writes or the state quota is used up, 409 for a baseSeq conflict; nothing was committed.</summary>
    public static IResult Rejected(SubmitResult result)
    {
        var (status, code) = result.Outcome switch
        {
            SubmitOutcome.Forbidden => (StatusCodes.Status403Forbidden, "write-forbidden"),
            SubmitOutcome.Conflict => (StatusCodes.Status409Conflict, "conflict"),
            SubmitOutcome.QuotaExceeded => (StatusCodes.Status403Forbidden, "quota-exceeded"),
            _ => (StatusCodes.Status400BadRequest, "batch-rejected"),
        };
        var first = result.Rejections.FirstOrDefault(r => r.Code != RejectionCodes.BatchAborted) ?? result.Rejections.FirstOrDefault();
        var detail = first is null ? "The batch was rejected; nothing was committed." : $"Update {first.Index} was rejected ({first.Code}): {first.Reason} Nothing was committed.";
        return Create(status, code, detail, new Dictionary<string, object?>
        {
            ["rejections"] = result.Rejections.Select(r => new { index = r.Index, updateId = r.UpdateId, code = r.Code, reason = r.Reason }).ToList(),
        });
    }

    private static string Title(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Error",
    };
}
