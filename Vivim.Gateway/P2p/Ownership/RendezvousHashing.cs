using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Vivim.Gateway.P2p.Ownership;

/// <summary>
/// Highest-random-weight (rendezvous) hashing: a DID belongs to the node with the highest weight for it. Every node
/// computes the same answer from the same node list, a node leaving moves only its own DIDs (each to the node with
/// its next-highest weight), and a node joining takes about 1/n of every other node's DIDs.
/// </summary>
public static class RendezvousHashing
{
    /// <summary>
    /// A DID's 64-bit key: the first 8 bytes of SHA-256 of its UTF-8 bytes. Computed once per DID and reused for every
    /// node, so a recomputation over 100,000 DIDs costs one hash each plus a cheap mix per node.
    /// </summary>
    public static ulong KeyOf(string did)
    {
        ArgumentNullException.ThrowIfNull(did);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(did), hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }

    /// <summary>A node's 64-bit seed from its stable identity (for a silo: its address with its generation).</summary>
    public static ulong SeedOf(string node) => KeyOf(node);

    /// <summary>The weight of a DID's key on a node's seed: a full-avalanche mix, so weights are independent per node.</summary>
    public static ulong Weight(ulong key, ulong seed)
    {
        // splitmix64's finalizer over the pair: every input bit flips about half of the output bits.
        var z = key ^ (seed * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// The index in <paramref name="seeds"/> of the DID's owner, or -1 when there are no nodes. Ties (vanishingly rare)
    /// go to the lower seed, so the answer does not depend on the list's order.
    /// </summary>
    public static int OwnerOf(ulong key, IReadOnlyList<ulong> seeds)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        var best = -1;
        var bestWeight = 0UL;
        for (var i = 0; i < seeds.Count; i++)
        {
            var weight = Weight(key, seeds[i]);
            if (best < 0 || weight > bestWeight || (weight == bestWeight && seeds[i] < seeds[best]))
            {
                best = i;
                bestWeight = weight;
            }
        }

        return best;
    }

    /// <summary>The DID's owner among <paramref name="nodes"/>, or null when there are none.</summary>
    public static string? OwnerOf(string did, IReadOnlyList<string> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var index = OwnerOf(KeyOf(did), [.. nodes.Select(SeedOf)]);
        return index < 0 ? null : nodes[index];
    }
}
