using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Vivim.Tests.Support;

namespace Vivim.Tests.Operations;

/// <summary>
/// The all-in-one gateway in this process with every trace sampled, its spans and metrics exported to memory. Its
/// collection runs alone (no other test writes meanwhile), since the <c>Vivim</c> meter and activity source are the
/// process's: what the exporters see is this gateway's work.
/// </summary>
public sealed class TelemetryGateway : IAsyncLifetime
{
    private readonly LockedList<Activity> _spans = new();
    private readonly LockedList<MetricSnapshot> _metrics = new();

    public TelemetryGateway()
    {
        Gateway = new GatewayFixture
        {
            ExtraArguments = ["--Vivim:Telemetry:Traces=true", "--Vivim:Telemetry:SampleRatio=1", "--Vivim:P2p:Enabled=false"],
            Configure = builder =>
            {
                builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(_spans));
                builder.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(_metrics));
            },
        };
    }

    public GatewayFixture Gateway { get; }

    public Task InitializeAsync() => Gateway.InitializeAsync();

    public Task DisposeAsync() => Gateway.DisposeAsync();

    public List<Activity> Spans => _spans.Copy();

    /// <summary>Collects now and returns the latest snapshot of each metric (cumulative since the gateway started).</summary>
    public Dictionary<string, MetricSnapshot> Metrics()
    {
        _metrics.Clear();
        // False whatever happens: the Prometheus reader collects only when scraped. The in-memory one collects now.
        Gateway.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000);
        Assert.True(_metrics.Count > 0, "the metrics were not collected");
        return _metrics.Copy().GroupBy(m => m.Name).ToDictionary(g => g.Key, g => g.Last());
    }

    /// <summary>The sum over a counter's points (those whose tags match <paramref name="tag"/>, when given).</summary>
    public static long Sum(Dictionary<string, MetricSnapshot> metrics, string name, (string Key, string Value)? tag = null) =>
        metrics.TryGetValue(name, out var metric)
            ? metric.MetricPoints.Where(p => tag is not { } t || Tags(p).Any(kv => kv.Key == t.Key && Equals(kv.Value?.ToString(), t.Value))).Sum(p => p.GetSumLong())
            : 0;

    /// <summary>How many values a histogram recorded, over its points.</summary>
    public static long Count(Dictionary<string, MetricSnapshot> metrics, string name, (string Key, string Value)? tag = null) =>
        metrics.TryGetValue(name, out var metric)
            ? metric.MetricPoints.Where(p => tag is not { } t || Tags(p).Any(kv => kv.Key == t.Key && Equals(kv.Value?.ToString(), t.Value))).Sum(p => p.GetHistogramCount())
            : 0;

    public static List<KeyValuePair<string, object?>> Tags(MetricPoint point)
    {
        var tags = new List<KeyValuePair<string, object?>>();
        foreach (var tag in point.Tags)
        {
            tags.Add(tag);
        }

        return tags;
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection : ICollectionFixture<TelemetryGateway>
{
    public const string Name = "telemetry";
}
