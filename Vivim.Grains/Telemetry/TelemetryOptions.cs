namespace Vivim.Telemetry;

/// <summary><c>Vivim:Telemetry</c>: what a host measures and traces (docs/operations.md, "Metrics, traces and the dashboard").</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Vivim:Telemetry";

    /// <summary>Off: no OpenTelemetry at all (no meters listened to, no spans, <c>/metrics</c> answers 404).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Metrics of the <c>Vivim</c>, Orleans, ASP.NET Core and .NET runtime meters, for <c>/metrics</c> and OTLP.</summary>
    public bool Metrics { get; set; } = true;

    /// <summary>Spans (HTTP, grain calls, the log append); unset: on when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
    public bool? Traces { get; set; }

    /// <summary>
    /// The share of new traces kept (parent-based: a caller's sampled <c>traceparent</c> is always followed, an unsampled
    /// one never), 0..1.
    /// </summary>
    public double SampleRatio { get; set; } = 0.1;
}
