using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vivim.ExitNodes;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Protocol;
using Vivim.Protocol.Identity;
using Vivim.Protocol.Model;
using Vivim.Security;
using Vivim.Storage;

namespace Vivim.Tenants;

/// <summary>
/// One tenant. Not reentrant: quota checks and the exit-node list change one call at a time; only the API-key check,
/// a pure read, interleaves. It calls its exit nodes (create, delete, info), and they never call back.
/// </summary>
public sealed partial class TenantGrain(
    [PersistentState("tenant", VivimProviders.GrainState)] IPersistentState<TenantState> state,
    IOptions<TenantOptions> options,
    IStorageErasure erasure,
    TimeProvider time,
    ILogger<TenantGrain> logger) : Grain, ITenantGrain, IGuardedGrain, IRecordedGrain
{
    private const int MaxNameLength = 200;
    private const int MaxApiKeys = 20;
    private const int MaxListLimit = 500;

    private string TenantId => this.GetPrimaryKeyString();

    private TenantState Tenant => state.State;

    public bool IsRecorded => Tenant.Created;

    public bool Allows(CallPrincipal principal, string method) => principal.Kind switch
    {
        PrincipalKind.Service => method == nameof(VerifyApiKeyAsync),
        PrincipalKind.Tenant => principal.IsTenant(TenantId) && Tenant.Created && method is nameof(GetAsync) or nameof(CreateApiKeyAsync)
            or nameof(RevokeApiKeyAsync) or nameof(CreateExitNodeAsync) or nameof(DeleteExitNodeAsync) or nameof(ListExitNodesAsync),
        _ => false,
    };

    public async Task<TenantApiKey> CreateAsync(string name, TenantQuotas? quotas)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxNameLength)
        {
            throw new ArgumentException($"A tenant name is 1..{MaxNameLength} characters.", nameof(name));
        }

        if (!ApiKeyFormat.IsId(TenantId))
        {
            throw new ArgumentException("Tenant ids are lowercase letters and digits.");
        }

        if (Tenant.Created)
        {
            throw new TenantStateException($"Tenant {TenantId} exists.");
        }

        Validate(quotas);
        Tenant.Name = name;
        Tenant.Quotas = quotas ?? new TenantQuotas();
        Tenant.CreatedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        Tenant.Created = true;
        var key = AddKey();
        await state.WriteStateAsync();
        LogCreated(logger, TenantId);
        return key;
    }

    public Task<TenantInfo> GetAsync()
    {
        RequireCreated();
        return Task.FromResult(new TenantInfo(TenantId, Tenant.Name, Effective, Tenant.ExitNodes.Count, [.. Tenant.ApiKeyHashes.Keys.Order(StringComparer.Ordinal)], Tenant.CreatedAt));
    }

    public async Task DeleteAsync()
    {
        RequireCreated();
        // One by one, writing after each: a delete that fails halfway resumes where it stopped.
        foreach (var did in Tenant.ExitNodes.ToList())
        {
            await DeleteExitNodeCoreAsync(did);
        }

        await state.ClearStateAsync();
        state.State = new TenantState();
        var removedAt = time.GetTimestamp();

        // The rows are gone; now their bytes, before the caller hears the tenant is deleted.
        await erasure.EraseDeletedAsync();
        await WaitOutGrantsAsync(removedAt);
        LogDeleted(logger, TenantId);
        DeactivateOnIdle();
    }

    public async Task<TenantApiKey> CreateApiKeyAsync()
    {
        RequireCreated();
        if (Tenant.ApiKeyHashes.Count >= MaxApiKeys)
        {
            throw new QuotaExceededException($"A tenant has at most {MaxApiKeys} API keys; revoke one first.");
        }

        var key = AddKey();
        await state.WriteStateAsync();
        return key;
    }

    public async Task RevokeApiKeyAsync(string keyId)
    {
        RequireCreated();
        if (!Tenant.ApiKeyHashes.Remove(keyId ?? string.Empty))
        {
            throw new NotHostedException($"No API key {keyId}.");
        }

        // From here on every check of this key (they interleave) answers null; what gateways hold runs out below.
        var removedAt = time.GetTimestamp();

        await state.WriteStateAsync();
        await WaitOutGrantsAsync(removedAt);
    }

    public Task<TenantGrant?> VerifyApiKeyAsync(string keyId, byte[] secretHash)
    {
        var valid = Tenant.Created
            && secretHash is { Length: 32 }
            && Tenant.ApiKeyHashes.TryGetValue(keyId ?? string.Empty, out var stored)
            && CryptographicOperations.FixedTimeEquals(stored, secretHash);
        return Task.FromResult(valid ? new TenantGrant(TenantId, Effective, options.Value.ApiKeyLease) : null);
    }

    /// <summary>
    /// Waits until every grant given before <paramref name="removedAt"/> has run out at the gateways: each gateway counts a
    /// grant's lease from before it asked, so it ends before the grant's answer plus the lease.
    /// </summary>
    private async Task WaitOutGrantsAsync(long removedAt)
    {
        // Checked against the clock the leases are counted on, not left to the timer: a timer counts whole milliseconds of
        // a coarse tick and can fire a few milliseconds early, and a gateway's lease may end only just before ours.
        for (var left = Left(); left > TimeSpan.Zero; left = Left())
        {
            await Task.Delay(left + TimeSpan.FromMilliseconds(1), time);
        }

        TimeSpan Left() => options.Value.ApiKeyLease - time.GetElapsedTime(removedAt);
    }

    public async Task<ExitNodeAdvertisement> CreateExitNodeAsync(ExitNodeCreation creation)
    {
        ArgumentNullException.ThrowIfNull(creation);
        RequireCreated();
        var quotas = Effective;
        if (Tenant.ExitNodes.Count >= quotas.MaxExitNodes)
        {
            throw new QuotaExceededException($"This tenant may host at most {quotas.MaxExitNodes} exit nodes.");
        }

        if (creation.Policy is { } policy && policy.MaxClones > quotas.MaxClonesPerExitNode)
        {
            throw new QuotaExceededException($"maxClones may be at most {quotas.MaxClonesPerExitNode} for this tenant.");
        }

        byte[] seed;
        try
        {
            seed = creation.PrivateKeySeedHex is { } hex ? Hex.Decode(hex, Ed25519Keys.SeedSize, "privateKeySeedHex") : RandomNumberGenerator.GetBytes(Ed25519Keys.SeedSize);
        }
        catch (ProtocolException e)
        {
            throw new ArgumentException(e.Message, nameof(creation));
        }

        string did;
        using (var key = SigningKey.FromSeed(seed))
        {
            did = key.Did.Value;
        }

        var node = GrainFactory.GetGrain<IExitNodeGrain>(did);
        var added = Tenant.ExitNodes.Add(did);
        try
        {
            // Listed before it exists, so a crash in between leaves a node its tenant can see and delete.
            if (added)
            {
                await state.WriteStateAsync();
            }

            var setup = new ExitNodeSetup(
                new SecretSeed(seed),
                TenantId,
                creation.Capabilities,
                (creation.Policy ?? new ExitNodePolicy()) with { MaxClones = Math.Min((creation.Policy ?? new ExitNodePolicy()).MaxClones, quotas.MaxClonesPerExitNode!.Value) },
                creation.Endpoints,
                creation.DefaultPermissions,
                quotas.MaxStateBytesPerExitNode);
            return await node.CreateAsync(setup);
        }
        catch (Exception) when (added)
        {
            // Not ours after all (hosted by someone, or refused): forget it, unless it was created for us before a retry.
            if (!await OwnsAsync(node))
            {
                Tenant.ExitNodes.Remove(did);
                await state.WriteStateAsync();
            }

            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    public async Task DeleteExitNodeAsync(string did)
    {
        RequireCreated();
        if (!Tenant.ExitNodes.Contains(did ?? string.Empty))
        {
            throw new NotHostedException($"No exit node {did} in this tenant.");
        }

        await DeleteExitNodeCoreAsync(did!);
        await erasure.EraseDeletedAsync();
    }

    public async Task<ExitNodeSummaryPage> ListExitNodesAsync(string? afterDid, int limit)
    {
        RequireCreated();
        limit = Math.Clamp(limit, 1, MaxListLimit);
        var page = Tenant.ExitNodes.Where(d => afterDid is null || string.CompareOrdinal(d, afterDid) > 0).Take(limit + 1).ToList();
        var items = page.Take(limit).ToList();
        var infos = await Task.WhenAll(items.Select(async did =>
        {
            try
            {
                var info = await GrainFactory.GetGrain<IExitNodeGrain>(did).GetInfoAsync();
                return new ExitNodeSummary(did, info.HeadSeq, info.CloneCount, info.StateBytes);
            }
            catch (NotHostedException)
            {
                return new ExitNodeSummary(did, 0, 0); // listed while its creation is under way
            }
        }));
        return new ExitNodeSummaryPage(infos, page.Count > limit ? items[^1] : null);
    }

    private TenantQuotas Effective => options.Value.Resolve(Tenant.Quotas);

    private async Task DeleteExitNodeCoreAsync(string did)
    {
        await GrainFactory.GetGrain<IExitNodeGrain>(did).DeleteAsync(TenantId);
        Tenant.ExitNodes.Remove(did);
        await state.WriteStateAsync();
    }

    private async Task<bool> OwnsAsync(IExitNodeGrain node)
    {
        try
        {
            return string.Equals((await node.GetInfoAsync()).TenantId, TenantId, StringComparison.Ordinal);
        }
        catch (NotHostedException)
        {
            return false;
        }
    }

    private TenantApiKey AddKey()
    {
        var keyId = ApiKeyFormat.NewKeyId();
        var secret = ApiKeyFormat.NewSecret();
        Tenant.ApiKeyHashes[keyId] = ApiKeyFormat.HashSecret(secret);
        return new TenantApiKey(TenantId, keyId, ApiKeyFormat.Compose(TenantId, keyId, secret));
    }

    private void RequireCreated()
    {
        if (!Tenant.Created)
        {
            throw new NotHostedException($"No tenant {TenantId}.");
        }
    }

    private static void Validate(TenantQuotas? quotas)
    {
        if (quotas is null)
        {
            return;
        }

        if (quotas.MaxExitNodes < 0 || quotas.MaxClonesPerExitNode < 0 || quotas.UpdatesPerSecond < 1 || quotas.RequestsPerSecond < 1 || quotas.MaxStateBytesPerExitNode < 0)
        {
            throw new ArgumentException("Quotas are positive numbers (maxExitNodes, maxClonesPerExitNode and maxStateBytesPerExitNode may be 0).", nameof(quotas));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created tenant {TenantId}")]
    private static partial void LogCreated(ILogger logger, string tenantId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted tenant {TenantId}")]
    private static partial void LogDeleted(ILogger logger, string tenantId);
}
