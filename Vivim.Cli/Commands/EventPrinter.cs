using System.Globalization;
using Spectre.Console;
using Vivim.Client.Http;
using Vivim.Client.P2p;
using Vivim.Client.Replica;
using Vivim.Client.Sync;

namespace Vivim.Cli.Commands;

/// <summary>Prints every SyncProtocol event as it happens (one line each, with its SDK name), and the transport's life.</summary>
public static class EventPrinter
{
    /// <summary>A clone's sync events, and its WebSocket sessions or its moves to another gateway peer.</summary>
    public static void Attach(ILocalClone clone, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(clone);
        switch (clone)
        {
            case RemoteClone remote:
                Attach(remote.Sync, remote.Transport, prefix);
                break;
            case P2pClone p2p:
                Attach(p2p.Sync, null, prefix);
                p2p.Transport.GatewayChanged += (_, peer) => Line(prefix, "gateway:changed", $"the DID is now served by {peer}");
                break;
            default:
                Attach(clone.Sync, null, prefix);
                break;
        }
    }

    public static void Attach(SyncProtocol sync, HttpSyncTransport? transport = null, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(sync);
        sync.EventRaised += (_, e) => Line(prefix, e.Name, Describe(e));
        if (transport is not null)
        {
            transport.SessionEvent += (_, e) => Line(prefix, "session:" + e.Kind, e.Delay is { } d ? $"{e.Detail} (retry in {d.TotalMilliseconds:0} ms)" : e.Detail);
        }
    }

    public static string Describe(SyncEventArgs e) => e switch
    {
        SyncStartedEventArgs => string.Empty,
        SyncCompletedEventArgs c => $"updatesApplied={c.UpdatesApplied}",
        SyncFailedEventArgs f => f.Error.Message,
        UpdateReceivedEventArgs r => $"seq={r.Update.Seq} {r.Update.Operation.ToString().ToLowerInvariant()} {r.Update.Path}",
        UpdateAppliedEventArgs a => $"seq={a.Update.Seq} {a.Update.Path} success={(a.Success ? "true" : "false")}",
        StatusChangedEventArgs s => string.Create(CultureInfo.InvariantCulture, $"connected={(s.Status.Connected ? "true" : "false")} pending={s.Status.PendingUpdates} stateHash={Short(s.Status.StateHash)}"),
        SyncErrorEventArgs err => err.Error.Message,
        _ => string.Empty,
    };

    private static void Line(string prefix, string name, string detail)
    {
        var time = DateTime.Now.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
        CliOutput.Line($"[grey]{time}[/] {Markup.Escape(prefix)}[bold]{Markup.Escape(name)}[/] ", detail);
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;
}
