using System.Security.Cryptography;

namespace Vivim.Protocol;

/// <summary>
/// SHA-256 for inputs that are often short (document paths). The platform's one-shot SHA-256 (OpenSSL on Linux)
/// pays a fixed ~0.3 µs per call — context set-up, error-queue clearing — which is most of the cost of one or two
/// blocks; libsodium's has no such overhead but is slower per block, so longer inputs still go to OpenSSL.
/// </summary>
public static class ShortSha256
{
    /// <summary>Inputs up to this many bytes (two blocks with padding) go to libsodium (see Sha256Benchmarks).</summary>
    public const int MaxLibsodiumLength = 119;

    /// <summary>Writes SHA-256 of <paramref name="data"/> into <paramref name="destination"/> (32 bytes).</summary>
    public static void Hash(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (data.Length <= MaxLibsodiumLength)
        {
            NSec.Cryptography.HashAlgorithm.Sha256.Hash(data, destination);
        }
        else
        {
            SHA256.HashData(data, destination);
        }
    }
}
