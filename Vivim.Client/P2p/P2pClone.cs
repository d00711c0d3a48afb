using Vivim.Client.Http;
using Vivim.Client.P2p.Relay;
using Vivim.Client.Registration;
using Vivim.Client.Replica;
using Vivim.Client.Sync;
using Vivim.Client.Transports;
using Vivim.Libp2p.Core;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;

namespace Vivim.Client.P2p;

/// <summary>
/// A clone of a hosted parent that reaches it over libp2p only, kept on disk like <see cref="RemoteClone"/> (the same
/// registration file and replica, so a clone can switch transports and resume): it finds the exit node on the DHT
/// through its bootstrap peers, registers over <c>/vivim/clone</c>, takes commit notices from GossipSub and pulls over
/// <c>/vivim/sync</c>. When its gateway goes away it looks the DID up again and goes on with the new owner.
/// <para>
/// A clone may also go <b>through a relay</b> (another clone of the same parent that re-serves it, <see cref="CloneRelay"/>):
/// it registers through the relay and pulls from it, presenting its TrustProof, and verifies everything exactly as
/// from the parent. A clone registered as a relay keeps what it pulls in <see cref="RelayLog"/> to re-serve.
/// </para>
/// </summary>
public sealed class P2pClone : ILocalClone
{
    /// <summary>How long registration keeps looking for a DID with no provider yet (a new exit node is announced within moments).</summary>
    public static readonly TimeSpan DiscoveryPatience = TimeSpan.FromSeconds(30);

    private readonly ReplicaAutoSave _autoSave;
    private int _disposed;

    private P2pClone(string directory, StoredRegistration registration, SigningKey key, CloneP2pNode node, Multiaddr peer, SyncConfig? config, SyncOptions? syncOptions, bool restored)
    {
        Directory = directory;
        Registration = registration;
        Node = node;
        Store = new ReplicaStore(directory);
        var replica = restored ? Store.Load(registration.ParentDid) : null;
        ResumedFromDisk = replica is not null;
        Transport = new P2pSyncTransport(node.Host, peer, registration.CloneId, registration.ParentDid, node.Pubsub, FindPeerAsync)
        {
            Presenting = registration.ThroughRelay ? registration.TrustProof : null,
        };
        Transport.GatewayChanged += (_, moved) => SaveRegistration(Registration with { Peer = moved.ToString() });
        ISyncTransport sync = Transport;
        if (IsRelay(registration))
        {
            RelayLog = new RelayLog();
            sync = new RecordingTransport(Transport, RelayLog);
        }

        Sync = new SyncProtocol(registration.ParentDid, config, sync, syncOptions, replica);
        Writer = new CloneWriter(Transport, key, registration.CloneId, syncOptions?.TimeProvider);
        _autoSave = Store.AutoSave(Sync);
    }

    public string Directory { get; }

    public StoredRegistration Registration { get; private set; }

    public string CloneId => Registration.CloneId;

    public CloneP2pNode Node { get; }

    public ReplicaStore Store { get; }

    public P2pSyncTransport Transport { get; }

    public SyncProtocol Sync { get; }

    public CloneWriter Writer { get; }

    public bool ResumedFromDisk { get; }

    /// <summary>A relay clone's record of what it pulled, to re-serve (<see cref="CloneRelay"/>); null for other clones.</summary>
    public RelayLog? RelayLog { get; }

    /// <summary>
    /// Finds <paramref name="parentDid"/> on the DHT through <paramref name="bootstrap"/> (or goes through the relay
    /// <paramref name="throughRelay"/>), registers <paramref name="key"/>'s DID with it over libp2p (the SDK's challenge
    /// flow), verifies the answer, and keeps the registration and the initial snapshot in a new directory under
    /// <paramref name="clonesRoot"/>. A relay (<paramref name="migrationType"/> relay) should <paramref name="listen"/>.
    /// </summary>
    /// <exception cref="ExitNodeNotFoundException">No gateway serves the DID.</exception>
    /// <exception cref="CloneRegistrationException">The exit node denied the registration (the SDK's reason).</exception>
    public static async Task<(P2pClone Clone, CloneRegistrationResult Result)> RegisterAsync(
        IReadOnlyList<Multiaddr> bootstrap, string parentDid, SigningKey key, string clonesRoot, IReadOnlyList<string>? desiredCapabilities = null,
        MigrationType? migrationType = null, SyncConfig? config = null, SyncOptions? syncOptions = null, IReadOnlyList<Multiaddr>? listen = null,
        Multiaddr? throughRelay = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(bootstrap);
        var time = syncOptions?.TimeProvider ?? TimeProvider.System;
        var node = new CloneP2pNode(key, throughRelay is null ? bootstrap : [throughRelay, .. bootstrap], listen, dhtServer: migrationType == MigrationType.Relay);
        P2pClone? clone = null;
        try
        {
            await node.StartAsync(cancellationToken).ConfigureAwait(false);
            var peer = throughRelay ?? await FindNewExitNodeAsync(node, parentDid, time, cancellationToken).ConfigureAwait(false);
            var exitNode = new P2pExitNode(node.Host, peer, throughRelay is not null);
            var result = await CloneRegistrationFlow.RunAsync(exitNode, parentDid, key, desiredCapabilities, migrationType, time, cancellationToken).ConfigureAwait(false);
            var registration = new StoredRegistration(string.Empty, parentDid, result.CloneId, key.Did.Value, time.GetUtcNow().ToUnixTimeMilliseconds(), result.Response.TrustProof)
            {
                Transport = StoredRegistration.Libp2pTransport,
                Bootstrap = [.. (throughRelay is null ? bootstrap : [throughRelay, .. bootstrap]).Select(b => b.ToString())],
                Peer = peer.ToString(),
                ThroughRelay = throughRelay is not null,
            };
            var directory = Path.Combine(clonesRoot, StoredRegistration.DirectoryNameOf(result.CloneId));
            System.IO.Directory.CreateDirectory(directory);
            registration.Save(directory);
            clone = new P2pClone(directory, registration, key, node, peer, config, syncOptions, restored: false);
            await clone.Sync.LoadSnapshotAsync(result.Response.InitialState!, cancellationToken).ConfigureAwait(false);
            clone.RelayLog?.RecordSnapshot(result.Response.InitialState!);
            clone._autoSave.SaveNow();
            return (clone, result);
        }
        catch
        {
            if (clone is not null)
            {
                await clone.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                await node.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>
    /// Opens a clone kept in <paramref name="directory"/> over libp2p, whichever transport it registered with, and connects
    /// to its bootstrap peers (<paramref name="bootstrap"/> when given, else the saved ones). A clone with no peer saved (one
    /// registered over HTTP) looks its parent up on the DHT; <paramref name="throughRelay"/> makes it pull from that relay.
    /// </summary>
    /// <exception cref="FileNotFoundException">The directory holds no registration.</exception>
    public static async Task<P2pClone> OpenAsync(
        string directory, SigningKey key, SyncConfig? config = null, SyncOptions? syncOptions = null, IReadOnlyList<Multiaddr>? bootstrap = null,
        IReadOnlyList<Multiaddr>? listen = null, Multiaddr? throughRelay = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var registration = StoredRegistration.Load(directory) ?? throw new FileNotFoundException($"No clone registration in {directory}.", Path.Combine(directory, StoredRegistration.FileName));
        if (!string.Equals(registration.CloneDid, key.Did.Value, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Clone {registration.CloneId} was registered by {registration.CloneDid}, not by this key ({key.Did.Value}).", nameof(key));
        }

        if (throughRelay is not null)
        {
            registration = registration with { Peer = throughRelay.ToString(), ThroughRelay = true };
        }

        List<Multiaddr> peers = bootstrap is { Count: > 0 } ? [.. bootstrap] : [.. registration.Bootstrap.Select(Multiaddr.Parse)];
        if (throughRelay is not null && !peers.Contains(throughRelay))
        {
            peers.Insert(0, throughRelay);
        }

        if (peers.Count == 0 && registration.Peer is null)
        {
            throw new ArgumentException($"Clone {registration.CloneId} knows no libp2p peer: give it bootstrap addresses.", nameof(bootstrap));
        }

        var node = new CloneP2pNode(key, peers.Count > 0 ? peers : [Multiaddr.Parse(registration.Peer!)], listen, dhtServer: IsRelay(registration));
        try
        {
            await node.StartAsync(cancellationToken).ConfigureAwait(false);
            var peer = registration.Peer is { } saved ? Multiaddr.Parse(saved) : (await node.FindExitNodeAsync(registration.ParentDid, cancellationToken).ConfigureAwait(false)).Gateway;
            var clone = new P2pClone(directory, registration, key, node, peer, config, syncOptions, restored: true);
            clone.SaveRegistration(registration with { Bootstrap = [.. peers.Select(p => p.ToString())], Peer = peer.ToString() });
            return clone;
        }
        catch
        {
            await node.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts syncing: catches up from the cursor (a snapshot first if the replica is empty), then live from GossipSub.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default) => Sync.StartAsync(cancellationToken);

    /// <summary>The DID's gateway, asked again for up to <see cref="DiscoveryPatience"/> while the DHT knows no provider of it.</summary>
    private static async Task<Multiaddr> FindNewExitNodeAsync(CloneP2pNode node, string did, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            try
            {
                return (await node.FindExitNodeAsync(did, cancellationToken).ConfigureAwait(false)).Gateway;
            }
            catch (ExitNodeNotFoundException) when (time.GetElapsedTime(started) < DiscoveryPatience)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool IsRelay(StoredRegistration registration) => registration.TrustProof?.Payload.MigrationType == MigrationType.Relay;

    /// <summary>Where to go when the peer is unreachable: the DID's gateway now, or another relay of it.</summary>
    private async Task<Multiaddr> FindPeerAsync(CancellationToken cancellationToken)
    {
        if (!Registration.ThroughRelay)
        {
            return (await Node.FindExitNodeAsync(Registration.ParentDid, cancellationToken).ConfigureAwait(false)).Gateway;
        }

        var relays = await Node.FindRelaysAsync(Registration.ParentDid, cancellationToken).ConfigureAwait(false);
        return relays.FirstOrDefault(r => r.ToString() != Registration.Peer) ?? relays.FirstOrDefault()
            ?? throw new ExitNodeNotFoundException(Registration.ParentDid, $"No relay of {Registration.ParentDid} on the DHT.");
    }

    private void SaveRegistration(StoredRegistration registration)
    {
        Registration = registration;
        registration.Save(Directory);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Sync.DisposeAsync().ConfigureAwait(false);
        await _autoSave.DisposeAsync().ConfigureAwait(false);
        await Node.DisposeAsync().ConfigureAwait(false);
    }
}
