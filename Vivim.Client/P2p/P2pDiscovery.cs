using Vivim.Client.Http;
using Vivim.Libp2p.Core;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Protocols.Kad;
using Vivim.Protocol.Discovery;
using Vivim.Protocol.Model;

namespace Vivim.Client.P2p;

/// <summary>Where an exit node is served on libp2p: its providers on the DHT, each asked for the advertisement it must sign as itself.</summary>
public static class P2pDiscovery
{
    /// <summary>
    /// Finds the providers of <c>/vivim/exit-node/&lt;did&gt;</c> and returns the first whose advertisement verifies
    /// (the exit node's v2 proof) and names that provider as its peer, with the address it was reached at.
    /// </summary>
    /// <exception cref="ExitNodeNotFoundException">No provider answered with a verifying advertisement.</exception>
    public static async Task<(ExitNodeAdvertisement Advertisement, Multiaddr Gateway)> FindExitNodeAsync(Libp2pHost host, KadDht dht, string did, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(dht);
        var providers = await dht.FindProvidersAsync(DiscoveryKeys.ExitNode(did), 20, cancellationToken).ConfigureAwait(false);
        var failures = new List<string>();
        foreach (var provider in providers)
        {
            foreach (var address in provider.Addresses)
            {
                var gateway = address.WithPeerId(provider.Peer);
                try
                {
                    var advertisement = await new P2pExitNode(host, gateway).GetAdvertisementAsync(did, cancellationToken).ConfigureAwait(false);
                    return (advertisement, gateway);
                }
                catch (Exception e) when (e is GatewayException or AdvertisementVerificationException or Libp2pException or IOException or Protocol.ProtocolException)
                {
                    failures.Add($"{gateway}: {e.Message}");
                }
            }
        }

        throw new ExitNodeNotFoundException(did, providers.Count == 0
            ? $"No provider of {did} on the DHT."
            : $"No provider of {did} answered with its advertisement: {string.Join("; ", failures)}");
    }
}

/// <summary>The exit node could not be found on the DHT, or none of its providers answered for it.</summary>
public sealed class ExitNodeNotFoundException(string did, string message) : Exception(message)
{
    public string Did { get; } = did;
}
