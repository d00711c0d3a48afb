using System.CommandLine;

namespace Vivim.Cli.Commands;

/// <summary>Options several commands share.</summary>
public static class CommonOptions
{
    /// <summary>On the root, for every command: the gateway's address.</summary>
    public static readonly Option<string?> Gateway = new("--gateway")
    {
        Description = $"gateway address (else ${CliHome.GatewayVariable}, else http://localhost:8080)",
        Recursive = true,
    };

    public static Option<string?> OperatorKey() => new("--operator-key") { Description = $"operator key (else ${CliHome.OperatorKeyVariable}, else ./data/operator.key)" };

    public static Option<string?> ApiKey() => new("--api-key") { Description = $"tenant API key (else ${CliHome.ApiKeyVariable}, else the one 'vivim tenant create' saved)" };

    public static Option<string?> Node() => new("--node") { Description = "exit node DID (else the last one 'vivim node create' made)" };

    public static Option<string?> Clone() => new("--clone") { Description = "clone id (else the only clone registered here)" };
}
