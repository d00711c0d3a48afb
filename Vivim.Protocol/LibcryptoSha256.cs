using System.Runtime.InteropServices;

namespace Vivim.Protocol;

/// <summary>
/// SHA-256 through libcrypto's low-level functions (<c>SHA256_Init/Update/Final</c>). They run the same block code
/// as the platform's SHA-256 (SHA-NI where the CPU has it) but skip what each EVP call adds — fetching and freeing a
/// context, clearing the error queue — which costs more than hashing a 65-byte tree node. Used only where the
/// library loads and hashes a known vector correctly (<see cref="IsAvailable"/>); callers fall back otherwise.
/// </summary>
public static class LibcryptoSha256
{
    // SHA256_CTX is 112 bytes (8 + 2 + 16 + 2 words); a little more is kept in case a build pads it.
    private const int ContextSize = 128;

    [ThreadStatic]
    private static byte[]? t_context;

    /// <summary>Whether libcrypto's low-level SHA-256 is loaded and gives the right hash on this machine.</summary>
    public static bool IsAvailable { get; } = Probe();

    /// <summary>Writes SHA-256 of <paramref name="data"/> into <paramref name="destination"/> (32 bytes).</summary>
    /// <exception cref="InvalidOperationException">The library is not available (<see cref="IsAvailable"/>).</exception>
    public static void Hash(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (!IsAvailable)
        {
            throw new InvalidOperationException("libcrypto's SHA-256 is not available here.");
        }

        HashUnchecked(data, destination);
    }

    // Callers check IsAvailable once (a static read-only value the JIT folds).
    internal static void HashUnchecked(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (destination.Length < 32)
        {
            throw new ArgumentException("The destination must hold 32 bytes.", nameof(destination));
        }

        var context = t_context ??= new byte[ContextSize];
        ref var ctx = ref MemoryMarshal.GetArrayDataReference(context);

        // Each returns 1; the low-level functions have no failure path for a valid context, so the results are not read.
        _ = Native.SHA256_Init(ref ctx);
        _ = Native.SHA256_Update(ref ctx, ref MemoryMarshal.GetReference(data), (nuint)data.Length);
        _ = Native.SHA256_Final(ref MemoryMarshal.GetReference(destination), ref ctx);
    }

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            // FIPS 180-2's "abc" and a two-block input against the platform's own SHA-256.
            Span<byte> hash = stackalloc byte[32];
            HashUnchecked("abc"u8, hash);
            if (!hash.SequenceEqual(Convert.FromHexString("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")))
            {
                return false;
            }

            var input = new byte[65];
            for (var i = 0; i < input.Length; i++)
            {
                input[i] = (byte)(i * 7);
            }

            HashUnchecked(input, hash);
            return hash.SequenceEqual(System.Security.Cryptography.SHA256.HashData(input));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    }

    /// <summary>libcrypto 3, which the platform's cryptography on Linux already loads.</summary>
    private static class Native
    {
        private const string Library = "libcrypto.so.3";

        // Short, non-blocking calls that never call back: no GC transition is needed around them.
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        [SuppressGCTransition]
        internal static extern int SHA256_Init(ref byte context);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        [SuppressGCTransition]
        internal static extern int SHA256_Update(ref byte context, ref byte data, nuint length);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        [SuppressGCTransition]
        internal static extern int SHA256_Final(ref byte digest, ref byte context);
    }
}
