using System.CommandLine;

namespace Vivim.Cli.Commands;

/// <summary>Options several commands share.</summary>
public static class CommonOptions
{
    public const string OperatorKeyName = "--operator-key";

    public const string ApiKeyName = "--api-key";

    /// <summary>On the root, for every command: the gateway's address.</summary>
    public static readonly Option<string?> Gateway = new("--gateway")
    {
        Description = $"gateway address (else ${CliHome.GatewayVariable}, else http://localhost:8080)",
        Recursive = true,
    };

    /// <summary>The gateway a command talks to (a clone talks to the one it registered with unless --gateway is given).</summary>
    public static Uri GatewayOf(ParseResult parse) => CliHome.Gateway(parse.GetValue(Gateway));

    public static Option<string?> OperatorKey() => new(OperatorKeyName) { Description = $"operator key (else ${CliHome.OperatorKeyVariable}, else ./data/operator.key)" };

    public static Option<string?> ApiKey() => new(ApiKeyName) { Description = $"tenant API key (else ${CliHome.ApiKeyVariable}, else the one 'vivim tenant create' saved)" };

    public static Option<string?> Node() => new("--node") { Description = "exit node DID (else the last one 'vivim node create' made)" };

    public static Option<string?> Clone() => new("--clone") { Description = "clone id (else the only clone registered here)" };
}
