using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Vivim.Gateway.P2p.Discovery;

/// <summary>
/// What one provide did: the key, how many DHT peers were told (0: the routing table was empty) and when it started
/// (the pacing applies to starts; a provide's own duration depends on the network).
/// </summary>
public sealed record ProvideOutcome(byte[] Key, int Told, DateTimeOffset StartedAt);

/// <summary>
/// DHT provides, one at a time, at most <c>perSecond</c> a second on <see cref="TimeProvider"/>, from a bounded queue
/// (a full queue makes <see cref="EnqueueAsync"/> wait). A key queued twice is provided once; a withdrawn key that
/// is still queued is skipped.
/// </summary>
public sealed partial class ProvideQueue : IAsyncDisposable
{
    private readonly Func<byte[], CancellationToken, Task<int>> _provide;
    private readonly TimeSpan _spacing;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<string> _queue;
    private readonly ConcurrentDictionary<string, byte[]> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _worker;
    private int _disposed;

    public ProvideQueue(Func<byte[], CancellationToken, Task<int>> provide, double perSecond, int capacity, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(provide);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _provide = provide;
        _spacing = TimeSpan.FromSeconds(1 / perSecond);
        _time = time;
        _logger = logger;
        _queue = Channel.CreateBounded<string>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _worker = Task.Run(() => RunAsync(_stopping.Token));
    }

    /// <summary>Raised after each provide (on the queue's worker).</summary>
    public event EventHandler<ProvideOutcome>? Provided;

    /// <summary>Keys waiting.</summary>
    public int Count => _pending.Count;

    public async ValueTask EnqueueAsync(byte[] key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var hex = Convert.ToHexString(key);
        if (_pending.TryAdd(hex, key))
        {
            await _queue.Writer.WriteAsync(hex, cancellationToken);
        }
    }

    /// <summary>Drops <paramref name="key"/> if it is still waiting.</summary>
    public void Withdraw(byte[] key) => _pending.TryRemove(Convert.ToHexString(key), out _);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        await _worker.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var next = _time.GetUtcNow();
        try
        {
            await foreach (var hex in _queue.Reader.ReadAllAsync(cancellationToken))
            {
                if (!_pending.TryRemove(hex, out var key))
                {
                    continue; // withdrawn while waiting
                }

                var now = _time.GetUtcNow();
                if (next > now)
                {
                    await Task.Delay(next - now, _time, cancellationToken);
                }

                // From when this provide really starts: a late wake-up must not let the next ones through at once.
                var startedAt = _time.GetUtcNow();
                next = startedAt + _spacing;
                var told = 0;
                try
                {
                    told = await _provide(key, cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                {
                    LogProvideFailed(_logger, hex, e.Message);
                }

                Provided?.Invoke(this, new ProvideOutcome(key, told, startedAt));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "DHT provide of {Key} failed: {Reason}")]
    private static partial void LogProvideFailed(ILogger logger, string key, string reason);
}
