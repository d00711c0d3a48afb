using Vivim.Client.Http;
using Vivim.Client.Registration;
using Vivim.Client.Replica;
using Vivim.Client.Sync;
using Vivim.Libp2p.Core;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;

namespace Vivim.Client.P2p;

/// <summary>
/// A clone of a hosted parent that reaches it over libp2p only, kept on disk like <see cref="RemoteClone"/> (the same
/// registration file and replica, so a clone can switch transports and resume): it finds the exit node on the DHT
/// through its bootstrap peers, registers over <c>/vivim/clone</c>, takes commit notices from GossipSub and pulls over
/// <c>/vivim/sync</c>. When its gateway goes away it looks the DID up again and goes on with the new owner.
/// </summary>
public sealed class P2pClone : ILocalClone
{
    private readonly ReplicaAutoSave _autoSave;

    private P2pClone(string directory, StoredRegistration registration, SigningKey key, CloneP2pNode node, Multiaddr gateway, SyncConfig? config, SyncOptions? syncOptions, bool restored)
    {
        Directory = directory;
        Registration = registration;
        Node = node;
        Store = new ReplicaStore(directory);
        var replica = restored ? Store.Load(registration.ParentDid) : null;
        ResumedFromDisk = replica is not null;
        Transport = new P2pSyncTransport(node.Host, gateway, registration.CloneId, registration.ParentDid, node.Pubsub, FindGatewayAsync);
        Transport.GatewayChanged += (_, peer) => SaveRegistration(Registration with { Peer = peer.ToString() });
        Sync = new SyncProtocol(registration.ParentDid, config, Transport, syncOptions, replica);
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

    /// <summary>
    /// Finds <paramref name="parentDid"/> on the DHT through <paramref name="bootstrap"/>, registers <paramref name="key"/>'s
    /// DID with it over libp2p (the SDK's challenge flow), verifies the answer, and keeps the registration and the initial
    /// snapshot in a new directory under <paramref name="clonesRoot"/>.
    /// </summary>
    /// <exception cref="ExitNodeNotFoundException">No gateway serves the DID.</exception>
    /// <exception cref="CloneRegistrationException">The exit node denied the registration (the SDK's reason).</exception>
    public static async Task<(P2pClone Clone, CloneRegistrationResult Result)> RegisterAsync(
        IReadOnlyList<Multiaddr> bootstrap, string parentDid, SigningKey key, string clonesRoot, IReadOnlyList<string>? desiredCapabilities = null,
        MigrationType? migrationType = null, SyncConfig? config = null, SyncOptions? syncOptions = null, IReadOnlyList<Multiaddr>? listen = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(bootstrap);
        var time = syncOptions?.TimeProvider ?? TimeProvider.System;
        var node = new CloneP2pNode(key, bootstrap, listen, dhtServer: migrationType == MigrationType.Relay);
        P2pClone? clone = null;
        try
        {
            await node.StartAsync(cancellationToken).ConfigureAwait(false);
            var (_, gateway) = await node.FindExitNodeAsync(parentDid, cancellationToken).ConfigureAwait(false);
            var result = await CloneRegistrationFlow.RunAsync(new P2pExitNode(node.Host, gateway), parentDid, key, desiredCapabilities, migrationType, time, cancellationToken).ConfigureAwait(false);
            var registration = new StoredRegistration(string.Empty, parentDid, result.CloneId, key.Did.Value, time.GetUtcNow().ToUnixTimeMilliseconds(), result.Response.TrustProof)
            {
                Transport = StoredRegistration.Libp2pTransport,
                Bootstrap = [.. bootstrap.Select(b => b.ToString())],
                Peer = gateway.ToString(),
            };
            var directory = Path.Combine(clonesRoot, StoredRegistration.DirectoryNameOf(result.CloneId));
            System.IO.Directory.CreateDirectory(directory);
            registration.Save(directory);
            clone = new P2pClone(directory, registration, key, node, gateway, config, syncOptions, restored: false);
            await clone.Sync.LoadSnapshotAsync(result.Response.InitialState!, cancellationToken).ConfigureAwait(false);
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
    /// to its bootstrap peers (<paramref name="bootstrap"/> when given, else the saved ones). A clone with no gateway peer
    /// saved (one registered over HTTP) looks its parent up on the DHT.
    /// </summary>
    /// <exception cref="FileNotFoundException">The directory holds no registration.</exception>
    public static async Task<P2pClone> OpenAsync(
        string directory, SigningKey key, SyncConfig? config = null, SyncOptions? syncOptions = null, IReadOnlyList<Multiaddr>? bootstrap = null,
        IReadOnlyList<Multiaddr>? listen = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var registration = StoredRegistration.Load(directory) ?? throw new FileNotFoundException($"No clone registration in {directory}.", Path.Combine(directory, StoredRegistration.FileName));
        if (!string.Equals(registration.CloneDid, key.Did.Value, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Clone {registration.CloneId} was registered by {registration.CloneDid}, not by this key ({key.Did.Value}).", nameof(key));
        }

        var peers = bootstrap is { Count: > 0 } ? bootstrap : [.. registration.Bootstrap.Select(Multiaddr.Parse)];
        if (peers.Count == 0 && registration.Peer is null)
        {
            throw new ArgumentException($"Clone {registration.CloneId} knows no libp2p peer: give it bootstrap addresses.", nameof(bootstrap));
        }

        var node = new CloneP2pNode(key, peers.Count > 0 ? peers : [Multiaddr.Parse(registration.Peer!)], listen);
        try
        {
            await node.StartAsync(cancellationToken).ConfigureAwait(false);
            var gateway = registration.Peer is { } saved ? Multiaddr.Parse(saved) : (await node.FindExitNodeAsync(registration.ParentDid, cancellationToken).ConfigureAwait(false)).Gateway;
            var clone = new P2pClone(directory, registration, key, node, gateway, config, syncOptions, restored: true);
            if (bootstrap is { Count: > 0 } || registration.Peer is null)
            {
                clone.SaveRegistration(registration with { Bootstrap = [.. peers.Select(p => p.ToString())], Peer = gateway.ToString() });
            }

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

    private async Task<Multiaddr> FindGatewayAsync(CancellationToken cancellationToken) =>
        (await Node.FindExitNodeAsync(Registration.ParentDid, cancellationToken).ConfigureAwait(false)).Gateway;

    private void SaveRegistration(StoredRegistration registration)
    {
        Registration = registration;
        registration.Save(Directory);
    }

    public async ValueTask DisposeAsync()
    {
        await Sync.DisposeAsync().ConfigureAwait(false);
        await _autoSave.DisposeAsync().ConfigureAwait(false);
        await Node.DisposeAsync().ConfigureAwait(false);
    }
}
