using Vivim.Client.Sync;
using Vivim.Tests.Support;

namespace Vivim.Tests.Client;

/// <summary>Records a protocol's events in the order raised.</summary>
internal sealed class EventLog
{
    private readonly List<SyncEventArgs> _events = [];

    public EventLog(SyncProtocol protocol) => protocol.EventRaised += (_, e) =>
    {
        lock (_events)
        {
            _events.Add(e);
        }
    };

    public IReadOnlyList<SyncEventArgs> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public IReadOnlyList<string> Names => [.. Events.Select(e => e.Name)];

    public void Clear()
    {
        lock (_events)
        {
            _events.Clear();
        }
    }

    public IReadOnlyList<T> All<T>() => [.. Events.OfType<T>()];

    /// <summary>Waits until an event of type <typeparamref name="T"/> matching <paramref name="match"/> was raised.</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool>? match = null)
        where T : SyncEventArgs
    {
        T? found = null;
        await Until.TrueAsync(() => (found = Events.OfType<T>().FirstOrDefault(e => match?.Invoke(e) ?? true)) is not null, () => $"no {typeof(T).Name}; saw: {string.Join(", ", Names)}");
        return found!;
    }
}
