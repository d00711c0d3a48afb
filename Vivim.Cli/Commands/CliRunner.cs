using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net.Http;
using System.Net.Sockets;
using Vivim.Client.Http;
using Vivim.Client.Sync;
using Vivim.Client.Transports;
using Vivim.Protocol;

namespace Vivim.Cli.Commands;

/// <summary>Runs a command's action and turns what can go wrong into one line on stderr and a non-zero exit code.</summary>
public static class CliRunner
{
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
            catch (Exception e) when (Describe(e) is { } line)
            {
                await Console.Error.WriteLineAsync($"{PathOf(parse)}: {line}").ConfigureAwait(false);
                return 1;
            }
        });

    /// <summary>The line for an expected failure; null for a bug, which keeps its stack trace.</summary>
    public static string? Describe(Exception e) => e switch
    {
        CliException or GatewayException or CloneRevokedException or CloneRegistrationException or AdvertisementVerificationException
            or SyncVerificationException or ProtocolException or SyncChannelException or ArgumentException or FormatException
            or IOException or UnauthorizedAccessException or InvalidDataException => OneLine(e.Message),
        HttpRequestException { InnerException: SocketException socket } => OneLine($"cannot reach the gateway: {socket.Message}"),
        HttpRequestException http => OneLine($"cannot reach the gateway: {http.Message}"),
        TimeoutException timeout => OneLine(timeout.Message),
        _ => null,
    };

    /// <summary>The command as typed: <c>vivim node create</c>.</summary>
    private static string PathOf(ParseResult parse)
    {
        var names = new List<string>();
        for (SymbolResult? result = parse.CommandResult; result is CommandResult command; result = command.Parent)
        {
            names.Add(command.Command is RootCommand ? "vivim" : command.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
