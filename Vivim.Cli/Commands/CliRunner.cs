using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Vivim.Client.Http;
using Vivim.Client.P2p;
using Vivim.Client.Sync;
using Vivim.Client.Transports;
using Vivim.Protocol;

namespace Vivim.Cli.Commands;

/// <summary>Runs a command's action and turns what can go wrong into one line on stderr and a non-zero exit code.</summary>
public static class CliRunner
{
    public const int Failure = 1;

    public const int UsageError = 2;

    public static void SetAction(Command command, Func<ParseResult, CancellationToken, Task> action) =>
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                await action(parse, ct).ConfigureAwait(false);
                return 0;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return 130;
            }
            catch (CliUsageException usage)
            {
                await Console.Error.WriteLineAsync($"{PathOf(parse)}: {OneLine(usage.Message)} (see '{PathOf(parse)} --help')").ConfigureAwait(false);
                return UsageError;
            }
            catch (Exception e) when (Describe(e, parse) is { } line)
            {
                await Console.Error.WriteLineAsync($"{PathOf(parse)}: {line}").ConfigureAwait(false);
                return Failure;
            }
        });

    /// <summary>The line for an expected failure; null for a bug, which keeps its stack trace.</summary>
    public static string? Describe(Exception e, ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return e switch
        {
            // The gateway's own 401 detail ("this route needs a key") misleads when a key was sent: say which one it refused.
            GatewayException { Status: HttpStatusCode.Unauthorized } when KeyRefused(parse) is { } line => OneLine(line),
            HttpRequestException http => OneLine(Unreachable(GatewayOf(parse), http)),
            _ => Describe(e),
        };
    }

    /// <summary>The line for an expected failure that needs no context; null for a bug.</summary>
    private static string? Describe(Exception e) => e switch
    {
        ArgumentException argument => OneLine(WithoutParameterName(argument)),
        CliException or GatewayException or CloneRevokedException or CloneRegistrationException or AdvertisementVerificationException
            or SyncVerificationException or ProtocolException or SyncChannelException or FormatException
            or IOException or UnauthorizedAccessException or InvalidDataException or ExitNodeNotFoundException
            or Vivim.Libp2p.Core.Libp2pException => OneLine(e.Message),
        TimeoutException timeout => OneLine(timeout.Message),
        _ => null,
    };

    /// <summary>What to say when the gateway at <paramref name="gateway"/> cannot be reached.</summary>
    public static string Unreachable(string gateway, HttpRequestException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return $"cannot reach the gateway at {gateway} ({Reason(e)}): start one with 'dotnet run --project Vivim.Gateway', or pass --gateway <url> (or set {CliHome.GatewayVariable}) to use another.";
    }

    /// <summary>The command as typed: <c>vivim node create</c>.</summary>
    public static string PathOf(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var names = new List<string>();
        for (SymbolResult? result = parse.CommandResult; result is CommandResult command; result = command.Parent)
        {
            names.Add(command.Command is RootCommand ? "vivim" : command.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>A 401 means the key this command sent was refused; which key depends on the command.</summary>
    private static string? KeyRefused(ParseResult parse)
    {
        var options = parse.CommandResult.Command.Options;
        var gateway = GatewayOf(parse);
        if (options.Any(o => o.Name == CommonOptions.OperatorKeyName))
        {
            return $"the operator key was refused by {gateway}: check that it matches that gateway's operator key (the data/operator.key file it printed at start, or its Vivim:OperatorKey setting).";
        }

        var apiKey = options.OfType<Option<string?>>().FirstOrDefault(o => o.Name == CommonOptions.ApiKeyName);
        if (apiKey is not null && !options.Any(o => o.Name == DocumentCommands.AsCloneName && parse.GetResult(o) is not null))
        {
            var origin = CliHome.FromEnvironment().ApiKeyOrigin(parse.GetValue(apiKey));
            return $"the tenant API key from {origin} was refused by {gateway}: pass the key of a tenant of that gateway with {CommonOptions.ApiKeyName} or {CliHome.ApiKeyVariable}, or run 'vivim tenant create' against it.";
        }

        return null;
    }

    /// <summary>The gateway a command talks to unless it works through a clone (which names its own gateway in its errors).</summary>
    private static string GatewayOf(ParseResult parse)
    {
        try
        {
            return CommonOptions.GatewayOf(parse).AbsoluteUri;
        }
        catch (CliUsageException)
        {
            return "(no valid gateway address)";
        }
    }

    /// <summary>The innermost cause (a refused connection, a name that does not resolve, an answer that is not HTTP).</summary>
    private static string Reason(HttpRequestException e)
    {
        Exception cause = e;
        while (cause.InnerException is not null)
        {
            cause = cause.InnerException;
        }

        return cause is SocketException ? cause.Message.ToLowerInvariant() : cause.Message.TrimEnd('.');
    }

    /// <summary>An ArgumentException's message without the "(Parameter 'x')" that .NET appends for developers.</summary>
    private static string WithoutParameterName(ArgumentException e)
    {
        var suffix = $" (Parameter '{e.ParamName}')";
        return e.ParamName is not null && e.Message.EndsWith(suffix, StringComparison.Ordinal) ? e.Message[..^suffix.Length] : e.Message;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
