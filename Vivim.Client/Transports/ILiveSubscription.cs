namespace Vivim.Client.Transports;

/// <summary>An open live session; disposing it closes the session.</summary>
public interface ILiveSubscription : IAsyncDisposable
{
    /// <summary>How many unacknowledged batches the parent allows this session.</summary>
    int MaxInFlightBatches { get; }
}
