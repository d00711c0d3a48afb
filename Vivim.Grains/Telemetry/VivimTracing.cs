using System.Diagnostics;

namespace Vivim.Telemetry;

/// <summary>The <c>Vivim</c> activity source: spans of our own (the update-log append, libp2p streams, WebSocket batches).</summary>
public static class VivimTracing
{
    public const string SourceName = "Vivim";

    public static readonly ActivitySource Source = new(SourceName, typeof(VivimTracing).Assembly.GetName().Version?.ToString());
}
