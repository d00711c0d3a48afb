namespace Vivim.Gateway.Sync;

/// <summary>
/// The open sync sockets of this gateway. When the host begins to stop (SIGTERM), every socket is closed with
/// "going away" at once, so Kestrel's drain does not wait on long-lived connections and each session hands its cursor
/// to its Clone grain while the silo is still in the cluster.
/// </summary>
public sealed class SyncSocketRegistry : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenRegistration _registration;
    private int _open;

    public SyncSocketRegistry(IHostApplicationLifetime lifetime) =>
        _registration = lifetime.ApplicationStopping.Register(_stopping.Cancel);

    public CancellationToken Stopping => _stopping.Token;

    public int Open => Volatile.Read(ref _open);

    public IDisposable Track()
    {
        Interlocked.Increment(ref _open);
        return new Tracked(this);
    }

    public void Dispose()
    {
        _registration.Dispose();
        _stopping.Dispose();
    }

    private sealed class Tracked(SyncSocketRegistry registry) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref registry._open);
            }
        }
    }
}
