using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Vivim.Anchors;
using Vivim.ExitNodes;
using Vivim.Feeds;
using Vivim.Hosting;
using System.Security.Cryptography;
using Vivim.Protocol.Model;
using Vivim.Protocol.Sync;
using Vivim.Security;
using Vivim.Storage;

namespace Vivim.Clones;

/// <summary>
/// One registered clone. Every read and write it makes passes the access check here before reaching the anchor.
/// <para>
/// Reentrant because its exit node calls it (trust changes, removal, status for listings) while a deregistration here
/// may be waiting on that same exit node; non-reentrant, the two would wait on each other until the call timeout.
/// Interleaving is safe: checks and state changes run between awaits, and writes of the state go through one gate.
/// </para>
/// </summary>
[Reentrant]
public sealed class CloneGrain(
    [PersistentState("clone", VivimProviders.GrainState)] IPersistentState<CloneState> state,
    ISpentNonces nonces,
    TimeProvider time,
    IOptions<CloneOptions> options) : Grain, ICloneGrain, IGuardedGrain, IRecordedGrain
{
    private const int MaxInFlightBatches = 4;
    private const int MaxBatchSize = 1000;
    private const int MaxSessionIdLength = 256;
    private const int MaxNonceLength = 128;
    private const int MaxRootLength = 128;
    private const int MaxRememberedNonces = 50_000;
    private const int MaxOpenTickets = 64;
    private static readonly TimeSpan SignatureWindow = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan TicketLifetime = TimeSpan.FromSeconds(60);

    // Request nonces until their signature window closes (the fast path; non-read requests' nonces are also spent in
    // ISpentNonces, which a restart keeps), and open WebSocket tickets; both by expiry (ms).
    private readonly Dictionary<string, long> _requestNonces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _tickets = new(StringComparer.Ordinal);

    // Live sessions, oldest first, with the hub to tell when one is replaced (in memory: a session re-attaches by
    // confirming itself after a reactivation).
    private readonly List<(string Id, ICloneSessionObserver? Hub)> _sessions = [];
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private bool _cursorDirty;

    // Set once the state is deleted: no later write (a cursor flush, a trust change in flight) may bring it back.
    private bool _erased;

    // The anchor's head only grows, so an ack at or below the last head seen needs no call to the anchor; its root is
    // the state hash of an ack that reaches it.
    private AnchorHead? _knownHead;

    private long KnownHeadSeq => _knownHead?.Seq ?? 0;

    private string CloneId => this.GetPrimaryKeyString();

    private CloneState Clone => state.State;

    public bool IsRecorded => Clone.Registration is not null;

    private CloneRegistration Registration =>
        Clone.Registration ?? throw new NotHostedException($"No clone {CloneId} is registered.");

    private IAnchorStateGrain Anchor => GrainFactory.GetResolvedGrain<IAnchorStateGrain>(Registration.ParentDid);

    /// <summary>From outside, a clone acts only on itself; a gateway authenticates its requests and tickets.</summary>
    public bool Allows(CallPrincipal principal, string method) => principal.Kind switch
    {
        PrincipalKind.Service => method is nameof(AuthenticateRequestAsync) or nameof(AuthenticatePeerAsync) or nameof(RedeemSyncTicketAsync)
            or nameof(AcknowledgeDeliveredAsync),
        PrincipalKind.Clone => principal.IsClone(CloneId) && method is nameof(GetRegistrationAsync) or nameof(GetConfigAsync) or nameof(SetConfigAsync)
            or nameof(GetSnapshotAsync) or nameof(GetUpdatesAsync) or nameof(SubmitAsync) or nameof(AcknowledgeAsync) or nameof(GetStatusAsync)
            or nameof(AttachSessionAsync) or nameof(DetachSessionAsync) or nameof(DeregisterAsync) or nameof(IssueSyncTicketAsync)
            or nameof(GetPeerTrustAsync) or nameof(GetProgressAsync) or nameof(ConfirmSessionAsync),
        _ => false,
    };

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Acks move the cursor in memory; this timer writes it when it changed, instead of one write per ack. The first
        // tick is spread over the interval so that clones activated together do not all write together.
        var interval = options.Value.CursorFlushInterval;
        var first = TimeSpan.FromTicks((long)(interval.Ticks * (0.1 + (0.9 * Random.Shared.NextDouble()))));
        this.RegisterGrainTimer(FlushCursorAsync, new GrainTimerCreationOptions(first, interval));
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await FlushCursorAsync(cancellationToken);
    }

    public async Task InitializeAsync(CloneRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (!string.Equals(registration.CloneId, CloneId, StringComparison.Ordinal))
        {
            throw new ArgumentException("The registration is for another clone.", nameof(registration));
        }

        if (Clone.Registration is { } existing)
        {
            // The exit node may retry an approval; anything else is a second registration under the same id.
            if (string.Equals(existing.CloneDid, registration.CloneDid, StringComparison.Ordinal)
                && string.Equals(existing.ParentDid, registration.ParentDid, StringComparison.Ordinal))
            {
                return;
            }

            throw new InvalidOperationException($"Clone {CloneId} is already registered.");
        }

        Clone.Registration = registration;
        Clone.Status = registration.TrustLevel == TrustLevel.Suspended ? CloneLifecycle.Suspended : CloneLifecycle.Active;
        Clone.Cursor = registration.InitialSeq;
        Clone.Config = new SyncConfig();
        await PersistAsync();
    }

    public Task<CloneRegistration> GetRegistrationAsync() => Task.FromResult(Registration);

    public async Task SetTrustAsync(TrustLevel trustLevel, IReadOnlyList<string> permissions)
    {
        var normalized = TrustRules.Normalize(permissions);
        Clone.Registration = Registration with { TrustLevel = trustLevel, Permissions = normalized };
        if (Clone.Status != CloneLifecycle.Removed)
        {
            Clone.Status = trustLevel == TrustLevel.Suspended ? CloneLifecycle.Suspended : CloneLifecycle.Active;
        }

        if (Clone.Status != CloneLifecycle.Active)
        {
            _sessions.Clear();
        }

        await PersistAsync();
    }

    public Task<SyncConfig> GetConfigAsync()
    {
        _ = Registration;
        return Task.FromResult(Clone.Config);
    }

    public async Task SetConfigAsync(SyncConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        RequireAccess();
        if (config.SyncInterval <= 0 || config.SyncTimeout <= 0 || config.MaxBatchSize is <= 0 or > MaxBatchSize)
        {
            throw new ArgumentException($"syncInterval and syncTimeout must be positive and maxBatchSize within 1..{MaxBatchSize}.", nameof(config));
        }

        Clone.Config = config;
        await PersistAsync();
    }

    public async Task<StateSnapshot> GetSnapshotAsync()
    {
        var registration = RequireAccess();
        if (registration.MigrationType != MigrationType.Fork)
        {
            return await Anchor.GetSnapshotAsync();
        }

        // A fork may take the state it left with once; after that it is on its own.
        if (Clone.ForkSnapshotTaken)
        {
            throw new CloneAccessDeniedException("A fork reads its parent's snapshot only once.");
        }

        var snapshot = await Anchor.GetSnapshotAsync();
        if ((snapshot.Seq ?? 0) != registration.InitialSeq)
        {
            throw new CloneAccessDeniedException("The parent moved past the fork point; the registration's initialState is the fork's state.");
        }

        Clone.ForkSnapshotTaken = true;
        await PersistAsync();
        return snapshot;
    }

    public async Task<StoredUpdatePage> GetUpdatesAsync(long afterSeq, int limit)
    {
        RequireSync();
        ArgumentOutOfRangeException.ThrowIfNegative(afterSeq);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await Anchor.GetUpdatesAsync(afterSeq, limit);
    }

    public async Task<SubmitResult> SubmitAsync(IReadOnlyList<string> updatesJson)
    {
        ArgumentNullException.ThrowIfNull(updatesJson);
        var registration = RequireSync();
        // The anchor checks the writer grant again; this refuses before any parsing.
        if (!TrustRules.MayWrite(registration.TrustLevel, [.. registration.Permissions], registration.MigrationType))
        {
            // Readable but not writable (read-only permission, or trust below secondary): a refused batch, not a revocation.
            return new SubmitResult(SubmitOutcome.Forbidden, [], [.. updatesJson.Select((_, i) =>
                new UpdateRejection(i, null, RejectionCodes.WriteForbidden, $"Clone {CloneId} may not write (read-only, or trust below secondary)."))]);
        }

        return await Anchor.SubmitAsync(updatesJson);
    }

    public async Task AcknowledgeAsync(long seq, string stateHash)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(seq);
        RequireSync();
        if (seq > KnownHeadSeq)
        {
            NoteHead(await Anchor.GetHeadAsync());
        }

        // An ack beyond the head is a client bug; the cursor never passes what the anchor committed.
        var acknowledged = Math.Min(seq, KnownHeadSeq);
        if (acknowledged > Clone.Cursor)
        {
            Clone.Cursor = acknowledged;

            // The head's root, or none: the clone's own claim is not believed (the Orleans transport lets a clone call
            // this with any value), so behind the head the status looks the root up in the log. A gateway's session
            // acknowledges through AcknowledgeDeliveredAsync with the root it delivered.
            Clone.StateHash = acknowledged == KnownHeadSeq ? _knownHead!.Root : string.Empty;
        }

        Clone.LastSyncAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        _cursorDirty = true;
    }

    /// <remarks>
    /// Why the caller is believed: only a gateway can call this (a Service principal is minted with the cluster secret,
    /// which a clone never holds, and <see cref="Allows"/> refuses it to clones), and a gateway's session acknowledges
    /// only seqs it delivered, with the roots of the commits it delivered, which came from the anchor (its stream or its
    /// log). Checking them again would cost an anchor call per flush (the head moves between any two flushes, so 1,000
    /// sessions of one DID made 1,000 calls a second) or an Ed25519 verification of the anchor's commit signature per
    /// flush (about 45 µs of CPU each on the 2-core reference machine, so 1,000 sessions would spend a tenth of a core on
    /// checking what the gateway itself delivered).
    /// </remarks>
    public Task AcknowledgeDeliveredAsync(long seq, string stateHash)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(seq);
        ArgumentNullException.ThrowIfNull(stateHash);
        if (stateHash.Length > MaxRootLength)
        {
            throw new ArgumentException($"A state hash is at most {MaxRootLength} characters.", nameof(stateHash));
        }

        RequireSync();
        if (seq > Clone.Cursor)
        {
            Clone.Cursor = seq;
            Clone.StateHash = stateHash; // "" when the gateway had no root for it: the status looks it up in the log
        }

        Clone.LastSyncAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        _cursorDirty = true;
        return Task.CompletedTask;
    }

    public Task<CloneStatus> GetStatusAsync() => StatusAsync(withStateHash: true);

    public Task<CloneStatus> GetProgressAsync() => StatusAsync(withStateHash: false);

    private async Task<CloneStatus> StatusAsync(bool withStateHash)
    {
        var registration = Registration;
        var head = await Anchor.GetHeadAsync();
        NoteHead(head);
        if (withStateHash && Clone.StateHash.Length == 0)
        {
            Clone.StateHash = await RootAtAsync(Clone.Cursor, head);
        }

        var status = new SyncStatus(
            _sessions.Count > 0,
            registration.ParentDid,
            Clone.LastSyncAt ?? 0,
            Math.Max(0, head.Seq - Clone.Cursor),
            withStateHash ? Clone.StateHash : string.Empty);
        return new CloneStatus(status, Clone.Cursor, head.Seq, registration.TrustLevel);
    }

    private void NoteHead(AnchorHead head)
    {
        if (head.Seq >= KnownHeadSeq)
        {
            _knownHead = head;
        }
    }

    /// <summary>The v2 root the anchor committed right after <paramref name="seq"/> (the commit that holds it names it); "" once retention dropped it.</summary>
    private async Task<string> RootAtAsync(long seq, AnchorHead head)
    {
        if (seq == head.Seq)
        {
            return head.Root;
        }

        if (seq == 0 || seq < head.RetainedFromSeq)
        {
            return string.Empty;
        }

        var page = await Anchor.GetUpdatesAsync(seq - 1, 1);
        var commit = page.Commits.FirstOrDefault(c => c.FromSeq <= seq && seq <= c.ToSeq && c.Roots.Count == c.ToSeq - c.FromSeq + 1);
        return commit is null ? string.Empty : commit.Roots[(int)(seq - commit.FromSeq)];
    }

    public async Task<PeerTrust?> GetPeerTrustAsync(string peerDid)
    {
        ArgumentException.ThrowIfNullOrEmpty(peerDid);
        var registration = RequireSync();
        if (registration.MigrationType != MigrationType.Relay)
        {
            throw new InvalidOperationException($"Clone {CloneId} is not a relay: only relays learn about other clones.");
        }

        return await GrainFactory.GetGrain<IExitNodeGrain>(registration.ParentDid).FindCloneAsync(peerDid);
    }

    public Task<SessionGrant> AttachSessionAsync(string sessionId, ICloneSessionObserver? observer)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        if (sessionId.Length > MaxSessionIdLength)
        {
            throw new ArgumentException($"A session id is at most {MaxSessionIdLength} characters.", nameof(sessionId));
        }

        var registration = RequireSync();
        _sessions.RemoveAll(s => string.Equals(s.Id, sessionId, StringComparison.Ordinal));
        _sessions.Add((sessionId, observer));

        // The newest session wins: the clone that reconnects is the one with a working connection.
        while (_sessions.Count > Math.Max(1, options.Value.MaxSessions))
        {
            var (replaced, hub) = _sessions[0];
            _sessions.RemoveAt(0);
            hub?.OnSessionReplacedAsync(registration.ParentDid, replaced).Ignore(); // one-way; the hub's confirmation covers a lost notice
        }

        return Task.FromResult(new SessionGrant(registration.ParentDid, Clone.Cursor, Clone.Config, MaxInFlightBatches));
    }

    public Task<bool> ConfirmSessionAsync(string sessionId, ICloneSessionObserver? observer)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        RequireSync();
        if (_sessions.Exists(s => string.Equals(s.Id, sessionId, StringComparison.Ordinal)))
        {
            return Task.FromResult(true);
        }

        // After a reactivation the list starts empty: the sessions that confirm first take the places again. A session
        // that was replaced while this activation lived is not in the list, and the list is full with its successor.
        if (_sessions.Count < Math.Max(1, options.Value.MaxSessions))
        {
            _sessions.Add((sessionId, observer));
            return Task.FromResult(true);
        }

        return Task.FromResult(false);
    }

    public Task DetachSessionAsync(string sessionId)
    {
        _sessions.RemoveAll(s => string.Equals(s.Id, sessionId, StringComparison.Ordinal));
        return Task.CompletedTask;
    }

    public async Task DeregisterAsync()
    {
        var registration = Registration;
        if (Clone.Status != CloneLifecycle.Removed)
        {
            // Refuse everything from now on, before telling anyone.
            Clone.Status = CloneLifecycle.Removed;
            _sessions.Clear();
            await PersistAsync();
        }

        // Also when already removed here: a deregistration whose exit-node call failed completes on retry. The exit node
        // revokes the anchor's writer grant and publishes CloneAccessRevoked, once, for every way a clone ends.
        await GrainFactory.GetGrain<IExitNodeGrain>(registration.ParentDid).DeregisterCloneAsync(CloneId);
    }

    public async Task RemoveAsync(string reason)
    {
        if (Clone.Registration is null || Clone.Status == CloneLifecycle.Removed)
        {
            return;
        }

        Clone.Status = CloneLifecycle.Removed;
        _sessions.Clear();
        await PersistAsync();
    }

    public async Task EraseAsync()
    {
        _sessions.Clear();
        _tickets.Clear();
        _requestNonces.Clear();
        await _writeGate.WaitAsync();
        try
        {
            _erased = true;
            _cursorDirty = false;
            await state.ClearStateAsync();
            state.State = new CloneState();
        }
        finally
        {
            _writeGate.Release();
        }

        DeactivateOnIdle();
    }

    public async Task<RequestAuthentication> AuthenticateRequestAsync(string keyDid, string nonce, long createdAtMs, bool changesState)
    {
        if (Clone.Registration is not { } registration || !string.Equals(registration.CloneDid, keyDid, StringComparison.Ordinal))
        {
            return Refuse("The signing key is not this clone's.");
        }

        if (string.IsNullOrEmpty(nonce) || nonce.Length > MaxNonceLength)
        {
            return Refuse($"A nonce of 1..{MaxNonceLength} characters is required.");
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        Prune(_requestNonces, now);
        if (_requestNonces.ContainsKey(nonce))
        {
            return Refuse("The nonce was used before.");
        }

        if (_requestNonces.Count >= MaxRememberedNonces)
        {
            return Refuse("Too many signed requests in the signature window.");
        }

        // Remembered until a request signed then would be refused as stale anyway. Noted before the await below, so a
        // concurrent duplicate (this grain is reentrant) meets it here.
        var expiresAt = Math.Max(createdAtMs, now) + (long)SignatureWindow.TotalMilliseconds;
        _requestNonces[nonce] = expiresAt;
        this.DelayDeactivation(SignatureWindow);

        // A request that changes something (a sync ticket, a write, an ack) must not work twice even after a restart or
        // through another activation: its nonce is spent in the shared store, one keyed row, expiring with the window.
        if (changesState && !await nonces.TrySpendAsync(NonceScope.Requests(registration.ParentDid, CloneId), nonce, now, expiresAt))
        {
            return Refuse("The nonce was used before.");
        }

        return TrustOutcome(registration);

        static RequestAuthentication Refuse(string reason) => new(RequestAuthenticationOutcome.Refused, reason);
    }

    public Task<RequestAuthentication> AuthenticatePeerAsync(string keyDid) =>
        Task.FromResult(Clone.Registration is { } registration && string.Equals(registration.CloneDid, keyDid, StringComparison.Ordinal)
            ? TrustOutcome(registration)
            : new RequestAuthentication(RequestAuthenticationOutcome.Refused, "The remote peer's key is not this clone's."));

    private RequestAuthentication TrustOutcome(CloneRegistration registration) =>
        Clone.Status == CloneLifecycle.Active && registration.TrustLevel != TrustLevel.Suspended
            ? new RequestAuthentication(RequestAuthenticationOutcome.Accepted, string.Empty, registration.ParentDid)
            : new RequestAuthentication(RequestAuthenticationOutcome.Revoked, Clone.Status == CloneLifecycle.Removed ? "The clone was removed." : "The clone is suspended.");

    public Task<SyncTicket> IssueSyncTicketAsync()
    {
        RequireSync();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        Prune(_tickets, now);
        if (_tickets.Count >= MaxOpenTickets)
        {
            throw new InvalidOperationException($"At most {MaxOpenTickets} unused tickets may be open.");
        }

        var ticket = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var expiresAt = now + (long)TicketLifetime.TotalMilliseconds;
        _tickets[ticket] = expiresAt;
        this.DelayDeactivation(TicketLifetime);
        return Task.FromResult(new SyncTicket(ticket, expiresAt));
    }

    public Task<bool> RedeemSyncTicketAsync(string ticket)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var valid = ticket is not null && _tickets.Remove(ticket, out var expiresAt) && expiresAt >= now && Clone.Status == CloneLifecycle.Active;
        return Task.FromResult(valid);
    }

    private static void Prune(Dictionary<string, long> byExpiry, long now)
    {
        foreach (var expired in byExpiry.Where(p => p.Value < now).Select(p => p.Key).ToList())
        {
            byExpiry.Remove(expired);
        }
    }

    /// <summary>The registration, if the clone is neither suspended nor removed.</summary>
    private CloneRegistration RequireAccess()
    {
        var registration = Registration;
        return Clone.Status switch
        {
            CloneLifecycle.Removed => throw new CloneAccessDeniedException($"Clone {CloneId} was removed."),
            CloneLifecycle.Suspended => throw new CloneAccessDeniedException($"Clone {CloneId} is suspended."),
            _ when registration.TrustLevel == TrustLevel.Suspended => throw new CloneAccessDeniedException($"Clone {CloneId} is suspended."),
            _ => registration,
        };
    }

    /// <summary><see cref="RequireAccess"/>, and not a fork: a fork no longer syncs with its former parent.</summary>
    private CloneRegistration RequireSync()
    {
        var registration = RequireAccess();
        return registration.MigrationType == MigrationType.Fork
            ? throw new CloneAccessDeniedException($"Clone {CloneId} is a fork and no longer syncs.")
            : registration;
    }

    private async Task FlushCursorAsync(CancellationToken cancellationToken)
    {
        if (_cursorDirty && Clone.Registration is not null)
        {
            await PersistAsync();

            // The anchor keeps the log for clones that keep up; this report is how it knows (one-way).
            await Anchor.ReportCursorAsync(CloneId, Clone.Cursor);
        }
    }

    /// <summary>One state write at a time: interleaved turns would otherwise race on the ETag.</summary>
    private async Task PersistAsync()
    {
        await _writeGate.WaitAsync();
        try
        {
            if (_erased)
            {
                return;
            }

            var wasDirty = _cursorDirty;
            _cursorDirty = false;
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                _cursorDirty |= wasDirty;
                throw;
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }
}
