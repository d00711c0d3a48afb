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

    /// <summary>A refused batch as a problem, its <c>rejections</c> beside the code.</summary>
    public static IResult Rejected(SubmitResult result) => From(ApiError.Rejected(result));

    /// <summary>The problem for a transport-neutral <see cref="ApiError"/>.</summary>
    public static IResult From(ApiError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return Create(error.Status, error.Code, error.Message, error.Extensions?.ToDictionary(e => e.Key, e => (object?)e.Value));
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
