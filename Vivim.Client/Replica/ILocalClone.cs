using Vivim.Client.Sync;

namespace Vivim.Client.Replica;

/// <summary>
/// A clone kept on this machine (registration and replica in one directory), whatever carries its sync:
/// <see cref="Http.RemoteClone"/> over HTTP/WebSocket, <see cref="P2p.P2pClone"/> over libp2p.
/// </summary>
public interface ILocalClone : IAsyncDisposable
{
    string Directory { get; }

    StoredRegistration Registration { get; }

    string CloneId { get; }

    ReplicaStore Store { get; }

    SyncProtocol Sync { get; }

    CloneWriter Writer { get; }

    /// <summary>True when the replica came from disk (the clone resumes from its saved cursor).</summary>
    bool ResumedFromDisk { get; }

    /// <summary>Catches up from the cursor (a snapshot first if the replica is empty), then goes live.</summary>
    Task StartAsync(CancellationToken cancellationToken = default);
}
