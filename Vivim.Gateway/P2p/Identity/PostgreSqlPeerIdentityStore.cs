using Npgsql;
using Vivim.Hosting;
using Vivim.Keys;
using Vivim.Libp2p.Core;

namespace Vivim.Gateway.P2p.Identity;

/// <summary>
/// A cluster gateway silo's peer identity: a row of <c>vivim_p2p_identities</c> keyed by the silo's stable name
/// (<c>Vivim:SiloName</c>), holding the seed sealed under the key-encryption key.
/// </summary>
public sealed class PostgreSqlPeerIdentityStore(StorageLocation location, KeyVault vault, string siloName) : IPeerIdentityStore
{
    public string SiloName => siloName;

    public async Task<Ed25519Identity> LoadOrCreateAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(location.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        if (await ReadAsync(connection, cancellationToken) is { } stored)
        {
            var opened = SealedPeerIdentity.Open(vault, stored, siloName);
            if (vault.NeedsRotation(stored))
            {
                await ResealAsync(connection, opened, stored.KekId, cancellationToken);
            }

            return opened;
        }

        var (identity, sealedKey) = SealedPeerIdentity.Create(vault, siloName);
        await using (var insert = connection.CreateCommand())
        {
            insert.CommandText = """
                INSERT INTO vivim_p2p_identities (silo_name, peer_id, kek_id, nonce, ciphertext)
                VALUES (@silo, @peer, @kek, @nonce, @ciphertext)
                ON CONFLICT (silo_name) DO NOTHING
                """;
            insert.Parameters.AddWithValue("silo", siloName);
            insert.Parameters.AddWithValue("peer", identity.PeerId.ToString());
            insert.Parameters.AddWithValue("kek", sealedKey.KekId);
            insert.Parameters.AddWithValue("nonce", sealedKey.Nonce);
            insert.Parameters.AddWithValue("ciphertext", sealedKey.Ciphertext);
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                return identity;
            }
        }

        // A process with the same silo name stored one first: both use that one.
        identity.Dispose();
        var winner = await ReadAsync(connection, cancellationToken) ?? throw new InvalidOperationException("The libp2p identity row vanished while it was created.");
        return SealedPeerIdentity.Open(vault, winner, siloName);
    }

    /// <summary>Seals the identity under the active KEK, so the old one can be retired (docs/operations.md, "Keys").</summary>
    private async Task ResealAsync(NpgsqlConnection connection, Ed25519Identity identity, string oldKekId, CancellationToken cancellationToken)
    {
        var resealed = SealedPeerIdentity.Reseal(vault, identity, siloName);
        await using var update = connection.CreateCommand();
        update.CommandText = "UPDATE vivim_p2p_identities SET kek_id = @kek, nonce = @nonce, ciphertext = @ciphertext WHERE silo_name = @silo AND kek_id = @old";
        update.Parameters.AddWithValue("kek", resealed.KekId);
        update.Parameters.AddWithValue("nonce", resealed.Nonce);
        update.Parameters.AddWithValue("ciphertext", resealed.Ciphertext);
        update.Parameters.AddWithValue("silo", siloName);
        update.Parameters.AddWithValue("old", oldKekId);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<SealedKey?> ReadAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT kek_id, nonce, ciphertext FROM vivim_p2p_identities WHERE silo_name = @silo";
        select.Parameters.AddWithValue("silo", siloName);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new SealedKey(reader.GetString(0), SealedPeerIdentity.Owner(siloName), (byte[])reader[1], (byte[])reader[2])
            : null;
    }
}
