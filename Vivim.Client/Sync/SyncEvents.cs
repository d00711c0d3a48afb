using Vivim.Protocol.Model;

namespace Vivim.Client.Sync;

/// <summary>The SDK's event names, so code ported from <c>sync.on('sync:started', …)</c> reads the same.</summary>
public static class SyncEventNames
{
    public const string SyncStarted = "sync:started";
    public const string SyncCompleted = "sync:completed";
    public const string SyncFailed = "sync:failed";
    public const string UpdateReceived = "update:received";
    public const string UpdateApplied = "update:applied";
    public const string StatusChanged = "status:changed";
    public const string Error = "error";
}

/// <summary>Base of every sync event; <see cref="Name"/> is the SDK's event name.</summary>
public abstract class SyncEventArgs : EventArgs
{
    public abstract string Name { get; }
}

public sealed class SyncStartedEventArgs(string parentDid) : SyncEventArgs
{
    public override string Name => SyncEventNames.SyncStarted;

    public string ParentDid { get; } = parentDid;
}

public sealed class SyncCompletedEventArgs(string parentDid, int updatesApplied) : SyncEventArgs
{
    public override string Name => SyncEventNames.SyncCompleted;

    public string ParentDid { get; } = parentDid;

    public int UpdatesApplied { get; } = updatesApplied;
}

public sealed class SyncFailedEventArgs(string parentDid, Exception error) : SyncEventArgs
{
    public override string Name => SyncEventNames.SyncFailed;

    public string ParentDid { get; } = parentDid;

    public Exception Error { get; } = error;
}

public sealed class UpdateReceivedEventArgs(StateUpdate update) : SyncEventArgs
{
    public override string Name => SyncEventNames.UpdateReceived;

    public StateUpdate Update { get; } = update;
}

public sealed class UpdateAppliedEventArgs(StateUpdate update, bool success) : SyncEventArgs
{
    public override string Name => SyncEventNames.UpdateApplied;

    public StateUpdate Update { get; } = update;

    public bool Success { get; } = success;
}

public sealed class StatusChangedEventArgs(SyncStatus status) : SyncEventArgs
{
    public override string Name => SyncEventNames.StatusChanged;

    public SyncStatus Status { get; } = status;
}

public sealed class SyncErrorEventArgs(Exception error) : SyncEventArgs
{
    public override string Name => SyncEventNames.Error;

    public Exception Error { get; } = error;
}
