using Vivim.Client.Replica;
using Vivim.Client.Sync;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;

namespace Vivim.Client.Http;

/// <summary>
/// A clone of a parent hosted behind a gateway, kept on disk: its registration and replica live in one directory,
/// the replica is saved as it advances, and reopening the directory resumes from the saved cursor. Put together from
/// <see cref="HttpSyncTransport"/>, <see cref="SyncProtocol"/>, <see cref="ReplicaStore"/> and <see cref="CloneWriter"/>.
/// </summary>
public sealed class RemoteClone : ILocalClone
{
    private readonly ReplicaAutoSave _autoSave;

    private RemoteClone(string directory, StoredRegistration registration, SigningKey key, SyncConfig? config, SyncOptions? syncOptions, HttpSyncTransportOptions? transportOptions, bool restored, Uri? gateway = null)
    {
        Directory = directory;
        Registration = registration;
        Store = new ReplicaStore(directory);
        var replica = restored ? Store.Load(registration.ParentDid) : null;
        ResumedFromDisk = replica is not null;
        Transport = new HttpSyncTransport(gateway ?? GatewayAddress.Parse(registration.Gateway), key, registration.CloneId, transportOptions);
        Sync = new SyncProtocol(registration.ParentDid, config, Transport, syncOptions, replica);
        Writer = new CloneWriter(Transport, key, registration.CloneId, syncOptions?.TimeProvider);
        _autoSave = Store.AutoSave(Sync);
    }

    public string Directory { get; }

    public StoredRegistration Registration { get; }

    public string CloneId => Registration.CloneId;

    public ReplicaStore Store { get; }

    public HttpSyncTransport Transport { get; }

    public SyncProtocol Sync { get; }

    public CloneWriter Writer { get; }

    /// <summary>True when the replica came from disk (the clone resumes from its saved cursor).</summary>
    public bool ResumedFromDisk { get; }

    /// <summary>
    /// Registers <paramref name="key"/>'s DID with the exit node <paramref name="parentDid"/> through the gateway (the SDK's
    /// challenge flow), verifies the answer, and keeps the registration and the initial snapshot in a new directory under
    /// <paramref name="clonesRoot"/>.
    /// </summary>
    public static async Task<(RemoteClone Clone, CloneRegistrationResult Result)> RegisterAsync(
        Uri gateway, string parentDid, SigningKey key, string clonesRoot, IReadOnlyList<string>? desiredCapabilities = null, MigrationType? migrationType = null,
        SyncConfig? config = null, SyncOptions? syncOptions = null, HttpSyncTransportOptions? transportOptions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        CloneRegistrationResult result;
        using (var exitNodes = new ExitNodeClient(gateway, timeProvider: syncOptions?.TimeProvider))
        {
            result = await exitNodes.RegisterCloneAsync(parentDid, key, desiredCapabilities, migrationType, cancellationToken).ConfigureAwait(false);
        }

        var registration = new StoredRegistration(
            GatewayAddress.Normalize(gateway).AbsoluteUri.TrimEnd('/'), parentDid, result.CloneId, key.Did.Value,
            (syncOptions?.TimeProvider ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds(), result.Response.TrustProof);
        var directory = Path.Combine(clonesRoot, StoredRegistration.DirectoryNameOf(result.CloneId));
        System.IO.Directory.CreateDirectory(directory);
        registration.Save(directory);
        var clone = new RemoteClone(directory, registration, key, config, syncOptions, transportOptions, restored: false);
        try
        {
            await clone.Sync.LoadSnapshotAsync(result.Response.InitialState!, cancellationToken).ConfigureAwait(false);
            clone._autoSave.SaveNow();
        }
        catch
        {
            await clone.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return (clone, result);
    }

    /// <summary>Opens a clone kept in <paramref name="directory"/>, with its replica as saved (or empty, when there is none or it did not check out).</summary>
    /// <param name="gateway">Another address of the same gateway (say, behind a proxy); null for the one it registered with.</param>
    /// <exception cref="FileNotFoundException">The directory holds no registration.</exception>
    public static RemoteClone Open(string directory, SigningKey key, SyncConfig? config = null, SyncOptions? syncOptions = null, HttpSyncTransportOptions? transportOptions = null, Uri? gateway = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        var registration = StoredRegistration.Load(directory) ?? throw new FileNotFoundException($"No clone registration in {directory}.", Path.Combine(directory, StoredRegistration.FileName));
        if (!string.Equals(registration.CloneDid, key.Did.Value, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Clone {registration.CloneId} was registered by {registration.CloneDid}, not by this key ({key.Did.Value}).", nameof(key));
        }

        return new RemoteClone(directory, registration, key, config, syncOptions, transportOptions, restored: true, gateway);
    }

    /// <summary>Starts syncing: catches up from the cursor (a snapshot first if the replica is empty), then live over the WebSocket.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default) => Sync.StartAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await Sync.DisposeAsync().ConfigureAwait(false);
        await _autoSave.DisposeAsync().ConfigureAwait(false);
        Transport.Dispose();
    }
}
