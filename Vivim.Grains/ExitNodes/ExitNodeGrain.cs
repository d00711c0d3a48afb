using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Vivim.Anchors;
using Vivim.Clones;
using Vivim.Feeds;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Protocol.ExitNodes;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Protocol.Signatures;
using Vivim.Protocol.Sync;
using Vivim.Security;
using Vivim.Storage;
using Vivim.Telemetry;

namespace Vivim.ExitNodes;

/// <summary>
/// A hosted parent node. Not reentrant: registration checks (capacity, nonces) and trust changes must not interleave.
/// It calls its anchor and its clones, and the only call back is a clone's deregistration, which cannot deadlock
/// because <see cref="CloneGrain"/> is reentrant (see there).
/// </summary>
public sealed partial class ExitNodeGrain(
    [PersistentState("exitNode", VivimProviders.GrainState)] IPersistentState<ExitNodeState> state,
    KeyVault vault,
    IHostedDidDirectory directory,
    ISpentNonces nonces,
    TimeProvider time,
    IOptions<ExitNodeOptions> options,
    ILogger<ExitNodeGrain> logger) : Grain, IExitNodeGrain, IGuardedGrain, IRecordedGrain
{
    private const int MaxListLimit = 500;
    private const string Base36 = "0123456789abcdefghijklmnopqrstuvwxyz";

    private static readonly string[] SdkCapabilities = ["identity", "storage", "content", "social", "ai-chat", "memory"];
    private static readonly string[] SdkCloneVersions = ["1.0.0"];
    private const string AnchorStateVersion = "1.0.0";

    // Our libp2p protocol ids until the gateway configures real addresses.
    private static readonly ExitNodeEndpoints DefaultEndpoints = new("/vivim/clone/1.0.0", "/vivim/sync/1.0.0", string.Empty);

    private readonly ExitNodeOptions _options = options.Value;
    private readonly CloneRegistrationFlow _registration = new(options.Value, nonces);
    private SigningKey? _key;
    private IAnchorStateGrain? _anchor;

    // The owner's live view (the events route) reads this; it is memory, not state: a fresh activation starts empty.
    private const int ActivityKept = 1000;
    private readonly Queue<NodeActivity> _activity = new();
    private long _lastActivityId;
    private long _droppedActivityId;

    private string Did => this.GetPrimaryKeyString();

    private NonceScope Registrations => NonceScope.Registrations(Did);

    private ExitNodeState Node => state.State;

    public bool IsRecorded => Node.Created;

    private long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    private IAnchorStateGrain Anchor => _anchor ??= GrainFactory.GetGrain<IAnchorStateGrain>(Did);

    private int CloneCount => Node.Clones.Values.Count(c => c.Status != CloneLifecycle.Removed);

    /// <summary>Discovery and registration are public; everything else from outside is the owning tenant's.</summary>
    public bool Allows(CallPrincipal principal, string method) => method switch
    {
        nameof(GetAdvertisementAsync) or nameof(IssueChallengeAsync) or nameof(RegisterAsync) => true,

        // Created and deleted through the tenant (quotas, its list); deregistration comes from the clone's grain.
        nameof(CreateAsync) or nameof(DeleteAsync) or nameof(DeregisterCloneAsync) => false,

        // The gateway that owns the DID on libp2p says where it serves it.
        nameof(SetNetworkAsync) => Node.Created && principal.Kind == PrincipalKind.Service,
        _ => Node.Created && principal.IsTenant(Node.TenantId),
    };

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The seed lives unsealed only in this activation's memory.
        if (Node.Created && Node.Key is not null)
        {
            _key = vault.Unseal(Node.Key, Did);
        }

        await CarryOverSpentNoncesAsync(cancellationToken);
    }

    /// <summary>
    /// Spent nonces of a state written before they had rows of their own move to <see cref="ISpentNonces"/> (with the
    /// expiry they had), then leave the state: no replay window opens on upgrade, and the state stops growing.
    /// </summary>
    private async Task CarryOverSpentNoncesAsync(CancellationToken cancellationToken)
    {
        var legacy = Node.SpentNonces;
        if (legacy.Count == 0)
        {
            return;
        }

        var retention = (long)_options.NonceRetention.TotalMilliseconds;
        var now = NowMs;
        var live = legacy
            .Where(p => p.Value + retention >= now && p.Key.Length is > 0 and <= NonceRules.MaxNonceLength)
            .Select(p => new SpentNonce(p.Key, p.Value + retention))
            .ToList();
        await nonces.CarryOverAsync(Registrations, live, cancellationToken);
        Node.SpentNonces = new(StringComparer.Ordinal);
        await state.WriteStateAsync();
        LogNoncesCarriedOver(logger, Did, live.Count);
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _key?.Dispose();
        _key = null;
        return Task.CompletedTask;
    }

    public async Task<ExitNodeAdvertisement> CreateAsync(ExitNodeSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        ArgumentNullException.ThrowIfNull(setup.Seed);
        using (var candidate = KeyFromSeed(setup.Seed))
        {
            if (!string.Equals(candidate.Did.Value, Did, StringComparison.Ordinal))
            {
                throw new ArgumentException("The seed's DID is not this exit node's DID.", nameof(setup));
            }
        }

        if (Node.Created)
        {
            throw new ExitNodeConflictException($"{Did} is already hosted.");
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(setup.TenantId, nameof(setup));
        var policy = ValidatePolicy(setup.Policy ?? new ExitNodePolicy());
        var permissions = TrustRules.Normalize(setup.DefaultPermissions ?? [Permissions.Read]);

        // A create that failed after this point is retried with the same sealed blob, so the anchor sees the same key.
        Node.Key ??= vault.Seal(setup.Seed.Bytes, Did);
        Node.TenantId = setup.TenantId;
        Node.Policy = policy;
        Node.DefaultPermissions = permissions;
        Node.Capabilities = ValidateList(setup.Capabilities ?? SdkCapabilities, nameof(setup.Capabilities));
        Node.SupportedCloneVersions = [.. SdkCloneVersions];
        Node.Endpoints = setup.Endpoints ?? DefaultEndpoints;
        await state.WriteStateAsync();

        await Anchor.InitializeAsync(new AnchorSetup(Node.Key, setup.MaxStateBytes));
        _key?.Dispose();
        _key = vault.Unseal(Node.Key, Did);
        Node.Advertisement = await SignAdvertisementAsync(_key);

        // Listed before it counts as created: a create that fails after this is retried, and the listing is idempotent.
        await directory.AddAsync(Did, Node.TenantId);
        Node.Created = true;
        await state.WriteStateAsync();
        LogCreated(logger, Did, Node.TenantId);
        await NotifyGatewaysAsync(hosted: true);
        return Node.Advertisement;
    }

    public async Task<ExitNodeInfo> GetInfoAsync()
    {
        RequireKey();
        var head = await Anchor.GetHeadAsync();
        return new ExitNodeInfo(Did, Node.TenantId, head.Seq, head.Root, CloneCount, head.RetainedFromSeq, head.StateBytes);
    }

    public Task<ExitNodeAdvertisement> GetAdvertisementAsync()
    {
        RequireKey();
        return Task.FromResult(Node.Advertisement!);
    }

    public async Task<ExitNodeAdvertisement> UpdateAdvertisementAsync(AdvertisementChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var key = RequireKey();
        var capabilities = change.Capabilities is null ? Node.Capabilities : ValidateList(change.Capabilities, nameof(change.Capabilities));
        var policy = change.Policy is null ? Node.Policy : ValidatePolicy(change.Policy);
        Node.Capabilities = capabilities;
        Node.Policy = policy;
        Node.Endpoints = change.Endpoints ?? Node.Endpoints;
        Node.Advertisement = await SignAdvertisementAsync(key);
        await state.WriteStateAsync();
        return Node.Advertisement;
    }

    public async Task<ExitNodeAdvertisement> SetNetworkAsync(ExitNodeNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var key = RequireKey();
        ValidateNetwork(network);
        if (network.SameAs(Node.Network))
        {
            return Node.Advertisement!;
        }

        // The API URL is not part of the advertisement: a change of it alone is stored, not signed.
        var resign = Node.Network is null
            || !string.Equals(Node.Network.PeerId, network.PeerId, StringComparison.Ordinal)
            || !Node.Network.Multiaddrs.SequenceEqual(network.Multiaddrs, StringComparer.Ordinal);
        Node.Network = network with { Multiaddrs = [.. network.Multiaddrs] };
        if (resign)
        {
            Node.Advertisement = await SignAdvertisementAsync(key);
            LogNetworkChanged(logger, Did, network.PeerId);
        }

        await state.WriteStateAsync();
        return Node.Advertisement!;
    }

    public Task<RegistrationChallenge> IssueChallengeAsync(string cloneDid, string nonce)
    {
        RequireKey();
        return _registration.IssueChallengeAsync(Registrations, cloneDid, nonce, NowMs);
    }

    public async Task<CloneRegistrationResponse> RegisterAsync(CloneRegistrationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = RequireKey();
        var now = NowMs;
        var decision = await _registration.DecideAsync(Registrations, request, Node.Policy, CloneCount, now);

        // A concluded registration spends its nonce before anything else happens: one row, never the node's state. An
        // approval that fails after this costs the client a new nonce, never a second clone for one request.
        if (decision.SpendsNonce && !await _registration.TrySpendAsync(Registrations, request.Nonce, now))
        {
            return Deny(request, DenialReasons.NonceAlreadyUsed);
        }

        if (decision.Approved)
        {
            return await ApproveAsync(key, request, decision.Migration, now);
        }

        return Deny(request, decision.DenialReason!) with { Challenge = decision.Challenge };
    }

    public Task<PeerTrust?> FindCloneAsync(string cloneDid)
    {
        // The newest registration of that DID that still stands (a DID may re-register after being removed).
        var clone = Node.Clones.Values
            .Where(c => c.Status != CloneLifecycle.Removed && string.Equals(c.Did, cloneDid, StringComparison.Ordinal))
            .MaxBy(c => c.RegisteredAt);
        return Task.FromResult(clone is null ? null : new PeerTrust(clone.CloneId, clone.TrustLevel, [.. clone.Permissions]));
    }

    public async Task<TrustProof> DelegateTrustAsync(string cloneId, TrustLevel trustLevel, IReadOnlyList<string> permissions)
    {
        var key = RequireKey();
        var clone = Registered(cloneId);
        if (trustLevel == TrustLevel.Suspended)
        {
            return await SuspendCloneAsync(cloneId, null);
        }

        if (trustLevel == TrustLevel.Genesis)
        {
            throw new ArgumentException("Only the exit node itself is genesis.", nameof(trustLevel));
        }

        var normalized = TrustRules.Normalize(permissions);
        clone.TrustLevel = trustLevel;
        clone.Permissions = normalized;
        clone.Status = CloneLifecycle.Active;
        clone.TrustBeforeSuspension = null;
        await ApplyTrustAsync(clone);

        var proof = ProtocolSigner.TrustProof(key, TrustProofType.Attestation, clone.Did, NowMs, Payload(clone));
        clone.LastProof = proof;
        await state.WriteStateAsync();
        return proof;
    }

    public async Task<TrustProof> SuspendCloneAsync(string cloneId, string? reason)
    {
        var key = RequireKey();
        var clone = Registered(cloneId);
        if (clone.Status != CloneLifecycle.Suspended)
        {
            clone.TrustBeforeSuspension = clone.TrustLevel;
        }

        clone.TrustLevel = TrustLevel.Suspended;
        clone.Status = CloneLifecycle.Suspended;
        // The anchor first: the write path is closed even if telling the clone grain fails.
        await Anchor.SetWriterAsync(new WriterGrant(clone.CloneId, clone.Did, false));
        await Clone(clone.CloneId).SetTrustAsync(TrustLevel.Suspended, clone.Permissions);

        var proof = ProtocolSigner.TrustProof(key, TrustProofType.Attestation, clone.Did, NowMs, Payload(clone) with { Reason = reason });
        clone.LastProof = proof;
        clone.SuspensionProof = proof;
        await state.WriteStateAsync();
        await PublishRevokedAsync(clone.CloneId, reason is null ? "suspended" : "suspended: " + reason);
        Record(NodeActivityKinds.CloneSuspended, clone, reason);
        LogSuspended(logger, Did, clone.CloneId);
        return proof;
    }

    public async Task<TrustProof> ReinstateCloneAsync(string cloneId, string? reason)
    {
        var key = RequireKey();
        var clone = Registered(cloneId);
        if (clone.Status != CloneLifecycle.Suspended)
        {
            throw new InvalidOperationException($"Clone {cloneId} is not suspended.");
        }

        clone.TrustLevel = clone.TrustBeforeSuspension ?? TrustLevel.Secondary;
        clone.TrustBeforeSuspension = null;
        clone.Status = CloneLifecycle.Active;
        await ApplyTrustAsync(clone);

        var proof = ProtocolSigner.TrustProof(key, TrustProofType.Attestation, clone.Did, NowMs, Payload(clone) with { Reason = reason });
        clone.LastProof = proof;
        await state.WriteStateAsync();
        Record(NodeActivityKinds.CloneReinstated, clone, reason);
        return proof;
    }

    public async Task<TrustProof> SetClonePermissionsAsync(string cloneId, IReadOnlyList<string> permissions)
    {
        var key = RequireKey();
        var clone = Registered(cloneId);
        var normalized = TrustRules.Normalize(permissions);
        if (!normalized.Contains(Permissions.Read, StringComparer.Ordinal))
        {
            throw new ArgumentException("A clone always reads: permissions are [\"read\"] or [\"read\",\"write\"].", nameof(permissions));
        }

        clone.Permissions = normalized;
        if (clone.Status != CloneLifecycle.Suspended)
        {
            await ApplyTrustAsync(clone);
        }

        var proof = ProtocolSigner.TrustProof(key, TrustProofType.Attestation, clone.Did, NowMs, Payload(clone));
        clone.LastProof = proof;
        await state.WriteStateAsync();
        Record(NodeActivityKinds.ClonePermissionsChanged, clone, reason: null);
        return proof;
    }

    public Task<NodeActivityPage> GetActivityAsync(long afterId, int limit)
    {
        RequireKey();
        limit = Math.Clamp(limit, 1, ActivityKept);
        var truncated = afterId < _droppedActivityId;
        var items = _activity.Where(a => a.Id > afterId).Take(limit).ToList();
        return Task.FromResult(new NodeActivityPage(items, _lastActivityId, truncated));
    }

    private void Record(string kind, RegisteredClone clone, string? reason) =>
        Record(kind, clone.CloneId, clone.Did, reason, [.. clone.Permissions]);

    private void Record(string kind, string cloneId, string cloneDid, string? reason, IReadOnlyList<string> permissions)
    {
        var now = NowMs;
        _lastActivityId = Math.Max(_lastActivityId + 1, now * 1000);
        _activity.Enqueue(new NodeActivity(_lastActivityId, kind, cloneId, cloneDid, reason, now, permissions));
        while (_activity.Count > ActivityKept)
        {
            _droppedActivityId = _activity.Dequeue().Id;
        }
    }

    public async Task<ClonePage> ListClonesAsync(string? afterCloneId, int limit)
    {
        RequireKey();
        limit = Math.Clamp(limit, 1, MaxListLimit);
        var page = Node.Clones.Values
            .Where(c => c.Status != CloneLifecycle.Removed
                && (afterCloneId is null || string.CompareOrdinal(c.CloneId, afterCloneId) > 0))
            .OrderBy(c => c.CloneId, StringComparer.Ordinal)
            .Take(limit + 1)
            .ToList();
        var items = page.Take(limit).ToList();

        // Clone grains are reentrant, so asking them while this grain is busy cannot deadlock.
        var statuses = await Task.WhenAll(items.Select(c => Clone(c.CloneId).GetProgressAsync()));
        var summaries = items.Select((c, i) => new CloneSummary(
            c.CloneId,
            c.Did,
            c.TrustLevel,
            [.. c.Permissions],
            c.MigrationType,
            statuses[i].Cursor,
            statuses[i].Status.Connected,
            statuses[i].Status.LastSyncAt,
            statuses[i].Status.PendingUpdates)).ToList();
        return new ClonePage(summaries, page.Count > limit ? items[^1].CloneId : null);
    }

    public async Task RemoveCloneAsync(string cloneId)
    {
        RequireKey();
        if (!Node.Clones.TryGetValue(cloneId ?? string.Empty, out var clone))
        {
            throw new NotHostedException($"No clone {cloneId} at {Did}.");
        }

        if (clone.Status != CloneLifecycle.Removed)
        {
            await EndAsync(clone, "removed by owner", tellClone: true);
            Record(NodeActivityKinds.CloneRemoved, clone, reason: null);
        }
    }

    public async Task DeregisterCloneAsync(string cloneId)
    {
        RequireKey();
        if (Node.Clones.TryGetValue(cloneId ?? string.Empty, out var clone) && clone.Status != CloneLifecycle.Removed)
        {
            // The clone grain is the caller and has already marked itself removed.
            await EndAsync(clone, "deregistered", tellClone: false);
            Record(NodeActivityKinds.CloneDeregistered, clone, reason: null);
        }
    }

    /// <summary>The anchor holds the same key and signs the updates itself, so it trusts them without verifying.</summary>
    public Task<SubmitResult> WriteAsOwnerAsync(IReadOnlyList<OwnerUpdate> updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        RequireKey();
        return Anchor.WriteAsOwnerAsync(updates);
    }

    public Task<DocumentProof?> GetDocumentAsync(string path)
    {
        RequireKey();
        return Anchor.GetDocumentAsync(path);
    }

    public Task<StateSnapshot> GetSnapshotAsync()
    {
        RequireKey();
        return Anchor.GetSnapshotAsync();
    }

    public Task<StoredUpdatePage> GetUpdatesAsync(long afterSeq, int limit)
    {
        RequireKey();
        return Anchor.GetUpdatesAsync(afterSeq, limit);
    }

    public async Task DeleteAsync(string tenantId)
    {
        if (Node.Key is null)
        {
            return; // never created, or deleted already
        }

        if (!string.Equals(Node.TenantId, tenantId, StringComparison.Ordinal))
        {
            throw new AccessDeniedException($"{Did} belongs to another tenant.");
        }

        foreach (var clone in Node.Clones.Values.Where(c => c.Status != CloneLifecycle.Removed).ToList())
        {
            await EndAsync(clone, "exit node deleted", tellClone: true);
        }

        await Anchor.DeleteAsync();

        // Every clone this node ever registered, removed ones too: their records name both DIDs and the permissions.
        // Erased before this node's own state, which lists them, so a delete that fails here is resumed in full.
        foreach (var cloneId in Node.Clones.Keys.ToList())
        {
            await Clone(cloneId).EraseAsync();
        }

        await directory.RemoveAsync(Did);
        await nonces.ForgetExitNodeAsync(Did);
        await state.ClearStateAsync();
        state.State = new ExitNodeState();
        _key?.Dispose();
        _key = null;
        LogDeleted(logger, Did);
        await NotifyGatewaysAsync(hosted: false);
        DeactivateOnIdle();
    }

    private async Task<CloneRegistrationResponse> ApproveAsync(SigningKey key, CloneRegistrationRequest request, MigrationType migration, long now)
    {
        var snapshot = await Anchor.GetSnapshotAsync();
        var forkSeq = snapshot.Seq ?? 0;
        // A relay is registered like a mirror: re-serving updates to others is the gateway's business, not the anchor's.
        var cloneId = NewCloneId(request.Did, now);
        // A fork leaves with what it has: it reads once and never writes back, so it is read-only whatever the default.
        var permissions = migration == MigrationType.Fork ? [Permissions.Read] : Node.DefaultPermissions.ToList();
        var clone = new RegisteredClone
        {
            CloneId = cloneId,
            Did = request.Did,
            TrustLevel = TrustLevel.Secondary,
            Permissions = permissions,
            MigrationType = migration,
            RegisteredAt = now,
            Status = CloneLifecycle.Active,
        };

        await Clone(cloneId).InitializeAsync(new CloneRegistration(
            cloneId, request.Did, Did, clone.TrustLevel, [.. permissions], migration, now, forkSeq));
        if (TrustRules.MayWrite(clone.TrustLevel, permissions, migration))
        {
            await Anchor.SetWriterAsync(new WriterGrant(cloneId, request.Did, true));
        }

        // A fork gets a migration proof naming the point it left at (the initial snapshot's seq and v2 root).
        var proof = migration == MigrationType.Fork
            ? ProtocolSigner.TrustProof(key, TrustProofType.Migration, request.Did, now, Payload(clone) with { ForkSeq = forkSeq, ForkRoot = snapshot.RootV2 ?? string.Empty })
            : ProtocolSigner.TrustProof(key, TrustProofType.Attestation, request.Did, now, Payload(clone));
        clone.LastProof = proof;
        Node.Clones[cloneId] = clone;
        await state.WriteStateAsync();
        LogApproved(logger, Did, cloneId, migration);
        Record(NodeActivityKinds.RegistrationApproved, clone, reason: null);
        VivimMetrics.Registration(deniedReason: null);

        return new CloneRegistrationResponse(
            Approved: true,
            CloneId: cloneId,
            Endpoints: RegistrationEndpoints(),
            TrustProof: proof,
            InitialState: snapshot);
    }

    private async Task<ExitNodeAdvertisement> SignAdvertisementAsync(SigningKey key)
    {
        var snapshot = await Anchor.GetSnapshotAsync();
        // merkleRoot is the snapshot's v1 root: the root SDK clients know and compare with the snapshots they receive.
        // The node is the root of its tree, so it has no cloneId and no parent.
        var anchorState = ProtocolSigner.SignBoth(key, SignedKind.AnchorState, new AnchorState(
            Did,
            CloneId: string.Empty,
            ParentId: null,
            TrustLevel.Genesis,
            snapshot.MerkleRoot,
            StateCid.FromV1Root(snapshot.MerkleRoot),
            NowMs,
            AnchorStateVersion,
            [.. Node.Capabilities],
            Signature: string.Empty));

        // The owning gateway's peer; until one took the DID on there is none to name: empty, not invented.
        var advertisement = new ExitNodeAdvertisement(
            Did,
            PeerId: Node.Network?.PeerId ?? string.Empty,
            Multiaddrs: [.. Node.Network?.Multiaddrs ?? []],
            [.. Node.Capabilities],
            [.. Node.SupportedCloneVersions],
            TrustLevel.Genesis,
            ProtocolModel.FromJsonObject<AnchorState>(anchorState),
            Node.Endpoints ?? DefaultEndpoints,
            Node.Policy);
        var json = ProtocolModel.ToJsonObject(advertisement);
        json["anchorState"] = anchorState; // nested exactly as signed
        SignatureV2.SignInPlace(key, SignedKind.ExitNodeAdvertisement, json);
        return ProtocolModel.FromJsonObject<ExitNodeAdvertisement>(json);
    }

    private async Task ApplyTrustAsync(RegisteredClone clone)
    {
        var mayWrite = TrustRules.MayWrite(clone.TrustLevel, clone.Permissions, clone.MigrationType);
        var grant = new WriterGrant(clone.CloneId, clone.Did, mayWrite);
        // Revocations close the anchor first; grants open it last, once the clone grain agrees.
        if (!mayWrite)
        {
            await Anchor.SetWriterAsync(grant);
        }

        await Clone(clone.CloneId).SetTrustAsync(clone.TrustLevel, [.. clone.Permissions]);
        if (mayWrite)
        {
            await Anchor.SetWriterAsync(grant);
        }
    }

    private async Task EndAsync(RegisteredClone clone, string reason, bool tellClone)
    {
        clone.Status = CloneLifecycle.Removed;
        await Anchor.SetWriterAsync(new WriterGrant(clone.CloneId, clone.Did, false));
        if (tellClone)
        {
            await Clone(clone.CloneId).RemoveAsync(reason);
        }

        await state.WriteStateAsync();
        await PublishRevokedAsync(clone.CloneId, reason);
    }

    /// <summary>
    /// The seed's shape, <c>{api, p2p}</c>, naming the owning gateway. Before a gateway took the DID on (libp2p off),
    /// the protocol ids the advertisement names.
    /// </summary>
    private CloneEndpoints RegistrationEndpoints()
    {
        var endpoints = Node.Endpoints ?? DefaultEndpoints;
        var relay = string.IsNullOrEmpty(endpoints.Relay) ? null : endpoints.Relay;
        return Node.Network is { } network
            ? new CloneEndpoints(network.ApiUrl, network.P2pEndpoint, relay)
            : new CloneEndpoints(endpoints.CloneEndpoint, endpoints.Sync, relay);
    }

    // Best effort: a lost notice is caught up by the gateways' periodic rescan of the directory.
    private async Task NotifyGatewaysAsync(bool hosted)
    {
        try
        {
            await this.GetStreamProvider(DidStreams.Provider)
                .GetStream<HostedDidChange>(HostedDidStreams.All)
                .OnNextAsync(new HostedDidChange(Did, hosted));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogNoticeFailed(logger, Did, e.Message);
        }
    }

    private static void ValidateNetwork(ExitNodeNetwork network)
    {
        if (string.IsNullOrWhiteSpace(network.PeerId) || network.PeerId.Length > 128)
        {
            throw new ArgumentException("peerId must be a libp2p peer id.", nameof(network));
        }

        if (network.Multiaddrs is null || network.Multiaddrs.Count > 32
            || network.Multiaddrs.Any(a => string.IsNullOrWhiteSpace(a) || a[0] != '/' || a.Length > 256 || a.Contains("/p2p/", StringComparison.Ordinal)))
        {
            throw new ArgumentException("multiaddrs are at most 32 multiaddrs without a /p2p/ suffix.", nameof(network));
        }

        if (network.ApiUrl is null || (network.ApiUrl.Length > 0 && !Uri.TryCreate(network.ApiUrl, UriKind.Absolute, out _)))
        {
            throw new ArgumentException("apiUrl must be an absolute URL or empty.", nameof(network));
        }
    }

    private Task PublishRevokedAsync(string cloneId, string reason) => Anchor.NotifyRevokedAsync(new CloneAccessRevoked(Did, cloneId, reason));

    private CloneRegistrationResponse Deny(CloneRegistrationRequest request, string reason)
    {
        LogDenied(logger, Did, LogValue.Clip(request.Did), reason);
        Record(NodeActivityKinds.RegistrationDenied, string.Empty, LogValue.Clip(request.Did ?? string.Empty), reason, []);
        VivimMetrics.Registration(reason); // a DenialReasons constant: bounded
        return new CloneRegistrationResponse(Approved: false, CloneId: string.Empty, DenialReason: reason);
    }

    private SigningKey RequireKey() =>
        Node.Created && _key is not null ? _key : throw new NotHostedException($"No exit node {Did} is hosted here.");

    private RegisteredClone Registered(string cloneId) =>
        cloneId is not null && Node.Clones.TryGetValue(cloneId, out var clone) && clone.Status != CloneLifecycle.Removed
            ? clone
            : throw new NotHostedException($"No clone {cloneId} at {Did}.");

    private ICloneGrain Clone(string cloneId) => GrainFactory.GetGrain<ICloneGrain>(cloneId);

    private TrustProofPayload Payload(RegisteredClone clone) =>
        new(clone.TrustLevel, Did, ParentCloneId: string.Empty, clone.MigrationType, [.. clone.Permissions]);

    /// <summary>The SDK's form: <c>did.substring(0,16) + "-" + Date.now() + "-" + 8 random base36 characters</c>.</summary>
    private static string NewCloneId(string did, long now)
    {
        var suffix = new char[8];
        for (var i = 0; i < suffix.Length; i++)
        {
            suffix[i] = Base36[RandomNumberGenerator.GetInt32(Base36.Length)];
        }

        return $"{did[..16]}-{now}-{new string(suffix)}";
    }

    private static SigningKey KeyFromSeed(SecretSeed seed)
    {
        try
        {
            return SigningKey.FromSeed(seed.Bytes);
        }
        catch (KeyFormatException e)
        {
            throw new ArgumentException(e.Message, nameof(seed), e);
        }
    }

    private static ExitNodePolicy ValidatePolicy(ExitNodePolicy policy) =>
        policy.MaxClones >= 0 ? policy : throw new ArgumentException("maxClones cannot be negative.", nameof(policy));

    private static List<string> ValidateList(IReadOnlyList<string> values, string name) =>
        values.Any(string.IsNullOrWhiteSpace)
            ? throw new ArgumentException("Entries cannot be empty.", name)
            : [.. values.Distinct(StringComparer.Ordinal)];

    [LoggerMessage(Level = LogLevel.Information, Message = "Exit node {Did} created for tenant {TenantId}")]
    private static partial void LogCreated(ILogger logger, string did, string tenantId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Exit node {Did} approved clone {CloneId} ({Migration})")]
    private static partial void LogApproved(ILogger logger, string did, string cloneId, MigrationType migration);

    // Debug: anyone may ask, so a denial per request at Information would let anonymous callers grow the log.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Exit node {Did} denied registration of {CloneDid}: {Reason}")]
    private static partial void LogDenied(ILogger logger, string did, string cloneDid, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Exit node {Did} suspended clone {CloneId}")]
    private static partial void LogSuspended(ILogger logger, string did, string cloneId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Exit node {Did} is now served by libp2p peer {PeerId}")]
    private static partial void LogNetworkChanged(ILogger logger, string did, string peerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Exit node {Did} could not notify the gateways of its change: {Reason}")]
    private static partial void LogNoticeFailed(ILogger logger, string did, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Exit node {Did} moved {Count} spent nonces from its state to their own rows")]
    private static partial void LogNoncesCarriedOver(ILogger logger, string did, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Exit node {Did} deleted")]
    private static partial void LogDeleted(ILogger logger, string did);
}
