namespace Vivim.Libp2p.Core;

/// <summary>
/// A token cancelled by any of the given tokens or once <c>after</c> has passed on the given clock. A linked
/// <see cref="CancellationTokenSource"/> cannot take a <see cref="TimeProvider"/>, so this pairs a timed source with a
/// linked one; disposing it releases both.
/// </summary>
internal sealed class Deadline : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;

    public Deadline(TimeProvider time, TimeSpan after, CancellationToken first, CancellationToken second = default)
    {
        _timer = new CancellationTokenSource(after, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(first, second, _timer.Token);
    }

    public CancellationToken Token => _linked.Token;

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}
