using System.Security.Cryptography;

namespace Vivim.Protocol;

/// <summary>
/// SHA-256 for inputs that are often short (document paths, an update's signing bytes). The platform's one-shot
/// SHA-256 (OpenSSL's EVP on Linux) pays a fixed ~0.3 µs per call — context set-up, error-queue clearing — which is
/// most of the cost of one or two blocks. libcrypto's low-level functions run the same block code without it
/// (<see cref="LibcryptoSha256"/>); where they are not available, libsodium's has no such overhead but is slower
/// per block, so it takes only short inputs and longer ones still go to the platform.
/// </summary>
public static class ShortSha256
{
    /// <summary>Inputs up to this many bytes (two blocks with padding) go to libsodium without libcrypto (see Sha256Benchmarks).</summary>
    public const int MaxLibsodiumLength = 119;

    /// <summary>
    /// Inputs up to this many bytes go to libcrypto's low-level functions; a call runs without a GC transition, so
    /// a long one (megabytes) goes to the platform instead and does not hold up a collection.
    /// </summary>
    public const int MaxLibcryptoLength = 64 * 1024;

    /// <summary>Writes SHA-256 of <paramref name="data"/> into <paramref name="destination"/> (32 bytes).</summary>
    public static void Hash(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (LibcryptoSha256.IsAvailable && data.Length <= MaxLibcryptoLength)
        {
            LibcryptoSha256.HashUnchecked(data, destination);
        }
        else if (data.Length <= MaxLibsodiumLength)
        {
            NSec.Cryptography.HashAlgorithm.Sha256.Hash(data, destination);
        }
        else
        {
            SHA256.HashData(data, destination);
        }
    }

    /// <summary>SHA-256 of <paramref name="data"/>.</summary>
    public static byte[] Hash(ReadOnlySpan<byte> data)
    {
        var hash = new byte[32];
        Hash(data, hash);
        return hash;
    }
}
