using Orleans.Concurrency;

namespace Vivim.Clones;

/// <summary>
/// Where a Clone grain tells a session hub (one per gateway silo, wherever it runs) that one of its sessions is no
/// longer live because a newer session of the same clone took its place. A hint: hubs also confirm each session with
/// the grain periodically (<see cref="ICloneGrain.ConfirmSessionAsync"/>), so a lost notice only delays the close.
/// </summary>
[Alias("vivim.ICloneSessionObserver")]
public interface ICloneSessionObserver : IGrainObserver
{
    [Alias("OnSessionReplaced"), OneWay]
    Task OnSessionReplacedAsync(string parentDid, string sessionId);
}
