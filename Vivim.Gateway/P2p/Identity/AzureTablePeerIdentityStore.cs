using Azure;
using Azure.Data.Tables;
using Vivim.Keys;
using Vivim.Libp2p.Core;
using Vivim.Storage.Azure;

namespace Vivim.Gateway.P2p.Identity;

/// <summary>
/// A cluster gateway silo's peer identity on Azure Table storage: one entity per stable silo name
/// (<c>Vivim:SiloName</c>), holding the seed sealed under the key-encryption key. The first writer of a name wins (an
/// insert fails on an existing entity); a reseal replaces the entity only if it is still the one read (its ETag).
/// </summary>
public sealed class AzureTablePeerIdentityStore(TableClient table, KeyVault vault, string siloName) : IPeerIdentityStore
{
    private const string Partition = "peer";

    public string SiloName => siloName;

    public async Task<Ed25519Identity> LoadOrCreateAsync(CancellationToken cancellationToken)
    {
        var row = AzureTableKey.Encode(siloName, nameof(siloName));
        if (await ReadAsync(row, cancellationToken) is { } stored)
        {
            var opened = SealedPeerIdentity.Open(vault, stored.Key, siloName);
            if (vault.NeedsRotation(stored.Key))
            {
                var resealed = SealedPeerIdentity.Reseal(vault, opened, siloName);
                try
                {
                    await table.UpdateEntityAsync(Entity(row, opened, resealed), stored.ETag, TableUpdateMode.Replace, cancellationToken);
                }
                catch (RequestFailedException e) when (e.Status is 404 or 412)
                {
                    // Another process of this silo name resealed it first: the seed is the same either way.
                }
            }

            return opened;
        }

        var (identity, sealedKey) = SealedPeerIdentity.Create(vault, siloName);
        try
        {
            await table.AddEntityAsync(Entity(row, identity, sealedKey), cancellationToken);
            return identity;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            // A process with the same silo name stored one first: both use that one.
            identity.Dispose();
            var winner = await ReadAsync(row, cancellationToken) ?? throw new InvalidOperationException("The libp2p identity entity vanished while it was created.");
            return SealedPeerIdentity.Open(vault, winner.Key, siloName);
        }
    }

    private TableEntity Entity(string row, Ed25519Identity identity, SealedKey sealedKey) => new(Partition, row)
    {
        // The peer id is public, there for operators looking at the table.
        ["SiloName"] = siloName,
        ["PeerId"] = identity.PeerId.ToString(),
        ["KekId"] = sealedKey.KekId,
        ["Nonce"] = sealedKey.Nonce,
        ["Ciphertext"] = sealedKey.Ciphertext,
    };

    private async Task<(SealedKey Key, ETag ETag)?> ReadAsync(string row, CancellationToken cancellationToken)
    {
        var found = await table.GetEntityIfExistsAsync<TableEntity>(Partition, row, cancellationToken: cancellationToken);
        if (!found.HasValue)
        {
            return null;
        }

        var entity = found.Value!;
        return (new SealedKey(entity.GetString("KekId"), SealedPeerIdentity.Owner(siloName), entity.GetBinary("Nonce"), entity.GetBinary("Ciphertext")), entity.ETag);
    }
}
