using System.Globalization;
using Microsoft.Extensions.Options;
using Vivim.Libp2p.Core;

namespace Vivim.Gateway.P2p;

/// <summary>Checks <c>Vivim:P2p</c>: each failure names the key, the value and what is wrong with it.</summary>
public sealed class P2pOptionsValidator : IValidateOptions<P2pOptions>
{
    public ValidateOptionsResult Validate(string? name, P2pOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        Check(failures, nameof(P2pOptions.Listen), options.Listen, ListenProblem);
        Check(failures, nameof(P2pOptions.Announce), options.Announce, AnnounceProblem);
        Check(failures, nameof(P2pOptions.Bootstrap), options.Bootstrap, BootstrapProblem);
        if (options.MaxConnections <= 0)
        {
            failures.Add($"{P2pOptions.Section}:{nameof(P2pOptions.MaxConnections)} must be positive, not {options.MaxConnections}.");
        }

        if (options.MaxPendingInbound <= 0)
        {
            failures.Add($"{P2pOptions.Section}:{nameof(P2pOptions.MaxPendingInbound)} must be positive, not {options.MaxPendingInbound}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(List<string> failures, string key, List<string> values, Func<Multiaddr, string?> problem)
    {
        for (var i = 0; i < values.Count; i++)
        {
            var text = values[i];
            string? reason;
            if (!Multiaddr.TryParse(text ?? string.Empty, out var address))
            {
                reason = "not a multiaddr (e.g. /ip4/203.0.113.7/tcp/4001)";
            }
            else
            {
                reason = problem(address!);
            }

            if (reason is not null)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{P2pOptions.Section}:{key}:{i} is '{text}': {reason}."));
            }
        }
    }

    private static string? ListenProblem(Multiaddr address) =>
        address.PeerId is not null ? "a listen address has no /p2p/ part"
        : address.ToTcpEndPoint() is null || address.Components.Count != 2 ? "only /ip4/<address>/tcp/<port> and /ip6/<address>/tcp/<port> can be listened on"
        : null;

    private static string? AnnounceProblem(Multiaddr address)
    {
        if (address.PeerId is not null)
        {
            return "an announce address is given without /p2p/ (the peer id is added where needed)";
        }

        var tcp = address.Components.Where(c => c.Code == Multiaddr.Tcp).Select(c => c.ValueText).FirstOrDefault();
        return tcp is null ? "an announce address needs a /tcp/<port> part (the host dials TCP)"
            : tcp == "0" ? "/tcp/0 is not an address anyone can dial; give the public port"
            : null;
    }

    private static string? BootstrapProblem(Multiaddr address) =>
        address.PeerId is null ? "a bootstrap address ends with /p2p/<peer id>, so the dial can check who answers"
        : address.ToTcpEndPoint() is null ? "only /ip4 and /ip6 TCP addresses are dialed (/dns and /dnsaddr are not resolved: use the /ip4/…/tcp/…/p2p/… addresses they resolve to)"
        : null;
}
