using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;

namespace Vivim.Clones;

/// <summary>
/// One registered clone (grain key: its cloneId): registration record, trust, sync config, cursor and status. Every
/// read and write a clone makes goes through here, so a suspension takes effect at once.
/// </summary>
[Alias("vivim.ICloneGrain")]
public interface ICloneGrain : IGrainWithStringKey
{
    /// <summary>Records an approved registration (called by the exit node).</summary>
    [Alias("Initialize")]
    Task InitializeAsync(CloneRegistration registration);

    [Alias("GetRegistration")]
    Task<CloneRegistration> GetRegistrationAsync();

    /// <summary>Trust or permissions changed (called by the exit node).</summary>
    [Alias("SetTrust")]
    Task SetTrustAsync(TrustLevel trustLevel, IReadOnlyList<string> permissions);

    [Alias("GetConfig")]
    Task<SyncConfig> GetConfigAsync();

    [Alias("SetConfig")]
    Task SetConfigAsync(SyncConfig config);

    [Alias("GetSnapshot")]
    Task<StateSnapshot> GetSnapshotAsync();

    [Alias("GetUpdates")]
    Task<StoredUpdatePage> GetUpdatesAsync(long afterSeq, int limit);

    /// <summary>Submits updates the clone signed; refused unless its trust is secondary or higher, not suspended, with the write permission.</summary>
    [Alias("Submit")]
    Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson);

    /// <summary>
    /// The clone applied everything up to <paramref name="seq"/> (capped at the anchor's head); the cursor is persisted
    /// in batches. <paramref name="stateHash"/> is the clone's claim and is not believed: the status takes the anchor's root.
    /// </summary>
    [Alias("Acknowledge")]
    Task AcknowledgeAsync(long seq, string stateHash);

    /// <summary>
    /// A gateway's live session delivered everything up to <paramref name="seq"/> and the clone acknowledged it;
    /// <paramref name="stateHash"/> is the v2 root after <paramref name="seq"/> from the commit the gateway delivered (""
    /// when it has none). Callable by the gateway service only: unlike <see cref="AcknowledgeAsync"/>, whose values come
    /// from the clone, these are taken as they are, with no call to the anchor.
    /// </summary>
    [Alias("AcknowledgeDelivered")]
    Task AcknowledgeDeliveredAsync(long seq, string stateHash);

    /// <summary>The status a clone asks for, with <c>stateHash</c> the anchor's root at its cursor (looked up in the log when needed).</summary>
    [Alias("GetStatus")]
    Task<CloneStatus> GetStatusAsync();

    /// <summary>The same without <c>stateHash</c> (""): for listings and heartbeats, which do not show it and must not read the log per clone.</summary>
    [Alias("GetProgress")]
    Task<CloneStatus> GetProgressAsync();

    /// <summary>
    /// A live session opened (on some hub); the clone counts as connected while any is attached. A clone has at most
    /// <c>Vivim:Clones:MaxSessions</c> (1) live sessions cluster-wide: the newest wins, and the oldest beyond the bound
    /// is dropped and its hub told through <paramref name="observer"/> (null: a session nobody needs to close).
    /// </summary>
    [Alias("AttachSession")]
    Task<SessionGrant> AttachSessionAsync(string sessionId, ICloneSessionObserver? observer);

    /// <summary>
    /// True while <paramref name="sessionId"/> is still one of the clone's live sessions (re-attached when there is room,
    /// as after the grain was reactivated, with <paramref name="observer"/> told of a later replacement); false once a
    /// newer session replaced it. Refused when the clone may not sync.
    /// </summary>
    [Alias("ConfirmSession")]
    Task<bool> ConfirmSessionAsync(string sessionId, ICloneSessionObserver? observer);

    [Alias("DetachSession")]
    Task DetachSessionAsync(string sessionId);

    /// <summary>The clone leaves: it is removed from its exit node and its sessions close.</summary>
    [Alias("Deregister")]
    Task DeregisterAsync();

    /// <summary>The exit node removed this clone (owner removal): the record is marked removed and access ends.</summary>
    [Alias("Remove")]
    Task RemoveAsync(string reason);

    /// <summary>
    /// Its exit node was deleted: the clone's stored state (registration, DIDs, permissions, cursor) is deleted and the
    /// grain refuses everything after. Idempotent.
    /// </summary>
    [Alias("Erase")]
    Task EraseAsync();

    /// <summary>
    /// A gateway verified a request signature by <paramref name="keyDid"/>: checks that the key is this clone's and the
    /// nonce is fresh (remembered for the signature window), and says whether the clone may act.
    /// </summary>
    /// <param name="changesState">
    /// The request is not a read (any method but GET and HEAD): its nonce is also spent durably, so a replay after a
    /// restart is refused too. A read's nonce is remembered by the activation only.
    /// </param>
    [Alias("AuthenticateRequest")]
    Task<RequestAuthentication> AuthenticateRequestAsync(string keyDid, string nonce, long createdAtMs, bool changesState);

    /// <summary>
    /// A gateway's libp2p peer speaks with a remote peer whose Noise-authenticated key is <paramref name="keyDid"/>:
    /// checks that the key is this clone's and says whether the clone may act (no nonce: the Noise session already
    /// rules out replays).
    /// </summary>
    [Alias("AuthenticatePeer")]
    Task<RequestAuthentication> AuthenticatePeerAsync(string keyDid);

    /// <summary>
    /// A relay clone asks about a peer that wants its data: the parent's clone registered by <paramref name="peerDid"/>
    /// (trust and permissions now), or null when that DID is no clone of the parent (never registered, or removed).
    /// Only a relay that may sync itself may ask.
    /// </summary>
    [Alias("GetPeerTrust")]
    Task<PeerTrust?> GetPeerTrustAsync(string peerDid);

    /// <summary>A single-use ticket for a browser's WebSocket upgrade, valid for a minute.</summary>
    [Alias("IssueSyncTicket")]
    Task<SyncTicket> IssueSyncTicketAsync();

    /// <summary>Spends a ticket; true when it was issued here, unexpired and unused.</summary>
    [Alias("RedeemSyncTicket")]
    Task<bool> RedeemSyncTicketAsync(string ticket);
}
