namespace Vivim.Storage;

/// <summary>
/// Every hosted exit node's DID across tenants, kept by the exit node grains on create and delete, so that a gateway
/// can enumerate the DIDs it must serve without activating a grain per tenant. Reads are pages in DID order.
/// </summary>
public interface IHostedDidDirectory
{
    /// <summary>Lists <paramref name="did"/> as hosted for <paramref name="tenantId"/>; adding it again changes nothing.</summary>
    Task AddAsync(string did, string tenantId, CancellationToken cancellationToken = default);

    /// <summary>Removes <paramref name="did"/>; removing an absent one changes nothing.</summary>
    Task RemoveAsync(string did, CancellationToken cancellationToken = default);

    /// <summary>Whether <paramref name="did"/> is hosted: a key lookup, so unknown DIDs can be refused before any grain wakes.</summary>
    Task<bool> ContainsAsync(string did, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> hosted DIDs after <paramref name="afterDid"/> (ordinal order), first page when null.</summary>
    Task<IReadOnlyList<string>> ListAsync(string? afterDid, int limit, CancellationToken cancellationToken = default);
}
