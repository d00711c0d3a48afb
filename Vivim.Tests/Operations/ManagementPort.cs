using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Vivim.Tests.Support;

namespace Vivim.Tests.Operations;

/// <summary>Requests to a management port, with or without the operator key, and what the observability files name.</summary>
internal static partial class ManagementPort
{
    public static HttpClient Client(Uri address, string? bearer = null)
    {
        var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        if (bearer is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return http;
    }

    public static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));

    public static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> GetAsync(Uri address, string path, AuthenticationHeaderValue? authorization = null)
    {
        using var http = Client(address);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = authorization;
        var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    public static async Task<JsonObject> StatusAsync(Uri address)
    {
        var (status, body, response) = await GetAsync(address, "/status", new AuthenticationHeaderValue("Bearer", GatewayFixture.TestOperatorKey));
        response.Dispose();
        Assert.True(status == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>
    /// Scrapes <c>/metrics</c> with the key and parses it with the independent npm parser
    /// (<c>interop/prometheus</c>): the metric families by name, with their types.
    /// </summary>
    public static async Task<Dictionary<string, string>> ScrapeAsync(Uri address)
    {
        var (status, body, response) = await GetAsync(address, "/metrics", new AuthenticationHeaderValue("Bearer", GatewayFixture.TestOperatorKey));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType ?? string.Empty, StringComparison.Ordinal);
        response.Dispose();
        var file = Path.Combine(Path.GetTempPath(), "vivim-metrics-" + Guid.NewGuid().ToString("N") + ".txt");
        await File.WriteAllTextAsync(file, body);
        try
        {
            var parsed = await NodeScript.RunAsync(Repository.PathOf("interop", "prometheus"), "parse.mjs", [file], TimeSpan.FromMinutes(1));
            Assert.True(parsed.ExitCode == 0, $"{parsed.StdErr}\n{body[..Math.Min(body.Length, 2000)]}");
            return JsonNode.Parse(parsed.StdOut)!["families"]!.AsObject().ToDictionary(f => f.Key, f => f.Value!["type"]!.GetValue<string>());
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Every PromQL expression of the Grafana dashboard and of the alert rules, with the file it is in.</summary>
    public static IEnumerable<(string File, string Expression)> ObservabilityExpressions()
    {
        var dashboard = Repository.PathOf("infra", "observability", "grafana", "vivim-dashboard.json");
        foreach (var panel in JsonNode.Parse(File.ReadAllText(dashboard))!["panels"]!.AsArray())
        {
            foreach (var target in panel!["targets"]?.AsArray() ?? [])
            {
                yield return ("grafana/vivim-dashboard.json", target!["expr"]!.GetValue<string>());
            }
        }

        var rules = Repository.PathOf("infra", "observability", "prometheus", "alerts.yaml");
        foreach (Match line in RuleExpression().Matches(File.ReadAllText(rules)))
        {
            yield return ("prometheus/alerts.yaml", line.Groups[1].Value);
        }
    }

    /// <summary>The metric names an expression selects (identifiers of our, Orleans', ASP.NET Core's and .NET's metrics, and <c>up</c>).</summary>
    public static IEnumerable<string> MetricNames(string expression)
    {
        // Label names appear in by (…) clauses and selectors: drop those first, the rest are metric names and functions.
        var bare = Selector().Replace(Grouping().Replace(expression, " "), "{}");
        return MetricName().Matches(bare).Select(m => m.Value).Distinct(StringComparer.Ordinal);
    }

    /// <summary>A name is exported when a family has it, or it is a histogram family's _bucket, _sum or _count.</summary>
    public static bool IsExported(string name, IReadOnlyDictionary<string, string> families) =>
        families.ContainsKey(name)
        || (HistogramSeries().Match(name) is { Success: true } series && families.TryGetValue(series.Groups[1].Value, out var type) && type == "HISTOGRAM");

    [GeneratedRegex(@"^\s+expr:\s*(.+)$", RegexOptions.Multiline)]
    private static partial Regex RuleExpression();

    [GeneratedRegex(@"\b(?:(?:vivim|orleans|dotnet|http|kestrel|aspnetcore)_[a-z0-9_]+|up)\b")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"\b(?:by|without)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Selector();

    [GeneratedRegex("^(.+)_(?:bucket|sum|count)$")]
    private static partial Regex HistogramSeries();
}
