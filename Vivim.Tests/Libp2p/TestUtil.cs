using System.Security.Cryptography;
using Vivim.Libp2p.Host;

namespace Vivim.Tests.Libp2p;

internal static class TestUtil
{
    public const string Echo = "/vivim/echo/1.0.0";

    public static CancellationTokenSource Timeout(int seconds = 60) => new(TimeSpan.FromSeconds(seconds));

    /// <summary>Echo handler: copies everything back, then half-closes.</summary>
    public static async Task EchoHandler(Libp2pStream s, CancellationToken ct)
    {
        var buf = new byte[64 * 1024];
        int n;
        while ((n = await s.ReadAsync(buf, ct)) > 0)
        {
            await s.WriteAsync(buf.AsMemory(0, n), ct);
        }
        await s.CloseWriteAsync();
    }

    public static Libp2pHost NewHost(Action<Libp2pHostBuilder>? configure = null)
    {
        var b = new Libp2pHostBuilder().ListenOn("/ip4/127.0.0.1/tcp/0").WithStreamHandler(Echo, EchoHandler);
        configure?.Invoke(b);
        return b.Build();
    }

    /// <summary>Writes <paramref name="size"/> random bytes while reading the echo; returns (sentHash, receivedHash, receivedBytes).</summary>
    public static async Task<(string Sent, string Received, long Bytes)> EchoRoundTripAsync(Stream s, long size, CancellationToken ct, Func<Task>? closeWrite = null)
    {
        using var sentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var recvHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = 0;
        var reader = Task.Run(async () =>
        {
            var buf = new byte[64 * 1024];
            int n;
            while ((n = await s.ReadAsync(buf, ct)) > 0)
            {
                recvHash.AppendData(buf, 0, n);
                received += n;
            }
        }, ct);
        var chunk = new byte[64 * 1024];
        for (long left = size; left > 0;)
        {
            var n = (int)Math.Min(chunk.Length, left);
            RandomNumberGenerator.Fill(chunk.AsSpan(0, n));
            sentHash.AppendData(chunk, 0, n);
            await s.WriteAsync(chunk.AsMemory(0, n), ct);
            left -= n;
        }
        if (closeWrite is not null)
        {
            await closeWrite();
        }
        await reader;
        return (Convert.ToHexStringLower(sentHash.GetHashAndReset()), Convert.ToHexStringLower(recvHash.GetHashAndReset()), received);
    }
}
