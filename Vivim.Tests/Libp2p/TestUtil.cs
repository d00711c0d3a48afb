using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using Vivim.Libp2p.Host;
using Vivim.Libp2p.Muxing.Yamux;

namespace Vivim.Tests.Libp2p;

internal static class TestUtil
{
    public const string Echo = "/vivim/echo/1.0.0";

    public static CancellationTokenSource Timeout(int seconds = 60) => new(TimeSpan.FromSeconds(seconds));

    /// <summary>
    /// The bound of a test with js-libp2p peers, which run on real time: it only matters when something is broken, so it
    /// is long enough for node processes starved of CPU on a loaded machine.
    /// </summary>
    public static CancellationTokenSource InteropTimeout() => Timeout(300);

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

    /// <summary>A clock for tests about time: it moves only when the test advances it.</summary>
    public static FakeTimeProvider NewClock() => new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>
    /// A host whose every timer runs on <paramref name="clock"/>. Yamux keepalive is off: it is not what these tests are
    /// about, and a ping sent at one advance of the clock must not be judged unanswered at the next.
    /// </summary>
    public static Libp2pHost NewHost(FakeTimeProvider clock, Action<Libp2pHostBuilder>? configure = null) =>
        NewHost(b =>
        {
            b.WithTimeProvider(clock).WithYamux(new YamuxOptions { KeepAliveInterval = null });
            configure?.Invoke(b);
        });

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Waits for state that raises no event (another node's tables, a js peer's view): polls until
    /// <paramref name="condition"/> holds. The only bound is <paramref name="ct"/>, a generous test timeout.
    /// </summary>
    public static async Task UntilAsync(Func<bool> condition, CancellationToken ct)
    {
        while (!condition())
        {
            await Task.Delay(PollInterval, ct);
        }
    }

    /// <inheritdoc cref="UntilAsync(Func{bool}, CancellationToken)"/>
    public static async Task UntilAsync(Func<Task<bool>> condition, CancellationToken ct)
    {
        while (!await condition())
        {
            await Task.Delay(PollInterval, ct);
        }
    }

    /// <summary>
    /// For a deadline that starts on another thread at an unknown moment: advances <paramref name="clock"/> by
    /// <paramref name="step"/> between polls until <paramref name="condition"/> holds (bounded by <paramref name="ct"/>).
    /// </summary>
    public static async Task AdvanceUntilAsync(FakeTimeProvider clock, TimeSpan step, Func<bool> condition, CancellationToken ct)
    {
        while (!condition())
        {
            clock.Advance(step);
            await Task.Delay(PollInterval, ct);
        }
    }

    /// <summary>A measured round trip: positive, and bounded only as generously as the tests themselves.</summary>
    public static void AssertRoundTrip(TimeSpan rtt) => Assert.InRange(rtt, TimeSpan.FromTicks(1), TimeSpan.FromMinutes(1));

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
