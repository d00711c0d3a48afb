using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Vivim.Cli.Commands;

/// <summary>
/// <c>vivim status [--watch]</c>: the cluster's members and activations, each member's commits, connected clones and
/// lag, and their sum with the cluster's commit rate (<c>GET /status</c> of any member's management port, with the
/// operator key).
/// </summary>
public static class StatusCommand
{
    public const string ManagementVariable = "VIVIM_MANAGEMENT";

    public const string DefaultManagement = "http://localhost:9464";

    public static Command Create()
    {
        var management = new Option<string?>("--management") { Description = $"a silo's or gateway's management address (else ${ManagementVariable}, else {DefaultManagement})" };
        var operatorKey = CommonOptions.OperatorKey();
        var watch = new Option<bool>("--watch") { Description = "refresh the table until Ctrl+C" };
        var interval = new Option<double>("--interval") { Description = "seconds between refreshes with --watch", DefaultValueFactory = _ => 2 };
        var times = new Option<int?>("--times") { Description = "with --watch: stop after this many refreshes" };
        var command = new Command("status", "cluster members, activations, commit rate, connected clones and lag (operator key, management port)") { management, operatorKey, watch, interval, times };
        CliRunner.SetAction(command, async (parse, ct) =>
        {
            var address = Address(parse.GetValue(management));
            var key = CliHome.OperatorKey(parse.GetValue(operatorKey));
            var every = parse.GetValue(interval);
            if (every is < 0.1 or > 3600 || double.IsNaN(every))
            {
                throw new CliUsageException("--interval is between 0.1 and 3600 seconds.");
            }

            using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(15) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            if (!parse.GetValue(watch))
            {
                AnsiConsole.Write(Render(await ReadAsync(http, address, ct), previous: null));
                return;
            }

            var limit = parse.GetValue(times) ?? int.MaxValue;
            var first = await ReadAsync(http, address, ct);
            await AnsiConsole.Live(Render(first, null)).StartAsync(async live =>
            {
                var previous = first;
                for (var refreshes = 1; refreshes < limit; refreshes++)
                {
                    await Task.Delay(TimeSpan.FromSeconds(every), ct);
                    var current = await ReadAsync(http, address, ct);
                    live.UpdateTarget(Render(current, previous));
                    live.Refresh();
                    previous = current;
                }
            });
        });
        return command;
    }

    private static Uri Address(string? option)
    {
        var (text, origin) = option is not null
            ? (option, "--management")
            : Environment.GetEnvironmentVariable(ManagementVariable) is { Length: > 0 } env ? (env, ManagementVariable) : (DefaultManagement, "the default management address");
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0
            ? uri
            : throw new CliUsageException($"{origin} must be an http(s) URL such as {DefaultManagement}, not '{text}'.");
    }

    private static async Task<JsonObject> ReadAsync(HttpClient http, Uri address, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.GetAsync(new Uri("/status", UriKind.Relative), cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach the management port at {address} ({e.Message.TrimEnd('.')}); the embedded node serves it on {DefaultManagement}, a cluster's hosts on Vivim:Management:Urls.");
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                throw new CliException($"the management port at {address} refused the operator key.");
            }

            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            return response.IsSuccessStatusCode && JsonNode.Parse(text) is JsonObject status
                ? status
                : throw new CliException($"the management port at {address} answered {(int)response.StatusCode}, not a status.");
        }
    }

    /// <summary>
    /// The members table (each member's own commits, clones and lag) and the cluster's sum; the commit rate over the last
    /// refresh when there was one, else since the answering process started.
    /// </summary>
    internal static IRenderable Render(JsonObject status, JsonObject? previous)
    {
        var members = new Table().Title("cluster members").AddColumns("silo", "address", "status", "activations", "commits", "connected clones", "lag max");
        foreach (var member in status["members"]?.AsArray() ?? [])
        {
            var name = member!["name"]!.GetValue<string>() + (member["local"]?.GetValue<bool>() == true ? " *" : string.Empty);
            var own = member["figures"];
            members.AddRow(
                Markup.Escape(name), Markup.Escape(member["address"]!.GetValue<string>()), Markup.Escape(member["status"]!.GetValue<string>()), Number(member["activations"]),
                Number(own?["commits"]), Number(own?["connectedClones"]), Number(own?["maxCloneLag"]));
        }

        // An older host answers without "cluster": its own figures are all there is.
        var cluster = (status["cluster"] ?? status["process"])!.AsObject();
        var commits = cluster["commits"]!.GetValue<long>();
        string rate;
        if (previous is not null)
        {
            var seconds = (status["time"]!.GetValue<DateTimeOffset>() - previous["time"]!.GetValue<DateTimeOffset>()).TotalSeconds;
            var before = (previous["cluster"] ?? previous["process"])!["commits"]!.GetValue<long>();
            rate = Format(seconds > 0 ? Math.Max(0, commits - before) / seconds : 0) + "/s";
        }
        else
        {
            var uptime = status["uptimeSeconds"]!.GetValue<double>();
            rate = Format(uptime > 0 ? commits / uptime : 0) + "/s since start";
        }

        var reporting = cluster["membersReporting"]?.GetValue<int>();
        var title = reporting is { } n ? $"cluster ({n} of {status["members"]?.AsArray().Count ?? 0} members reporting; * answered)" : $"{status["silo"]} ({status["role"]})";
        var figures = new Table().Title(Markup.Escape(title)).AddColumns("activations", "commits", "commit rate", "connected clones", "sessions", "lag max", "lag mean");
        figures.AddRow(
            Number(status["activations"]), Number(cluster["commits"]), rate, Number(cluster["connectedClones"]), Number(cluster["sessions"]),
            Number(cluster["maxCloneLag"]), Format(cluster["meanCloneLag"]!.GetValue<double>()));
        return new Rows(members, figures);
    }

    private static string Number(JsonNode? node) => node?.GetValue<double>().ToString("N0", CultureInfo.InvariantCulture) ?? "-";

    private static string Format(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
