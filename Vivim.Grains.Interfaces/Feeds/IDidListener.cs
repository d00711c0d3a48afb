using Orleans.Concurrency;
using Vivim.Protocol.Sync;

namespace Vivim.Feeds;

/// <summary>
/// Where an anchor pushes a DID's events while the listener's lease holds (<see cref="Anchors.IAnchorStateGrain.ListenAsync"/>):
/// an observer, one per <see cref="DidFeed"/>. Pushed, not polled, so a commit reaches the gateways one message after
/// it is durable. A hint only, as ever: the feed detects gaps and duplicates by seq and fills from the log.
/// </summary>
[Alias("vivim.IDidListener")]
public interface IDidListener : IGrainObserver
{
    [Alias("OnEvent"), OneWay]
    Task OnEventAsync(DidEvent didEvent);
}
