using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Vivim.Hosting;

namespace Vivim.Telemetry;

/// <summary>
/// OpenTelemetry for a Vivim host: metrics for the Prometheus endpoint of the management port (and OTLP), spans from
/// the HTTP request through the grain calls to the log append (W3C trace context accepted, parent-based ratio
/// sampling), logs to OTLP. Every exporter reads what the redacting logger and the scrubbed span attributes let through.
/// </summary>
public static class TelemetryHostingExtensions
{
    /// <summary>The standard variable that turns the OTLP exporters on (metrics, traces and logs).</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Orleans' meter and its activity sources (grain calls, with <c>AddActivityPropagation</c>).</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    public static readonly string[] OrleansActivitySources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    public static IHostApplicationBuilder AddVivimTelemetry(this IHostApplicationBuilder builder, string serviceName, string serviceInstanceId)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (options.SampleRatio is < 0 or > 1 || double.IsNaN(options.SampleRatio))
        {
            throw new OptionsValidationException(TelemetryOptions.Section, typeof(TelemetryOptions),
                [$"{TelemetryOptions.Section}:SampleRatio must be between 0 and 1 (it is {options.SampleRatio.ToString(System.Globalization.CultureInfo.InvariantCulture)})."]);
        }

        builder.Services.AddSingleton(options);
        UseJsonConsoleScopes(builder);
        if (!options.Enabled)
        {
            return builder;
        }

        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointKey]);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceVersion: typeof(VivimMetrics).Assembly.GetName().Version?.ToString(), serviceInstanceId: serviceInstanceId));
        if (options.Metrics)
        {
            otel.WithMetrics(metrics =>
            {
                metrics.AddMeter(VivimMetrics.MeterName, OrleansMeter, "System.Runtime")
                    .AddAspNetCoreInstrumentation()
                    .AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        }

        if (options.Traces ?? otlp)
        {
            otel.WithTracing(tracing =>
            {
                tracing.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(options.SampleRatio)))
                    .AddSource(VivimTracing.SourceName)
                    .AddSource(OrleansActivitySources)
                    .AddAspNetCoreInstrumentation(o =>
                    {
                        o.Filter = context => !IsOperational(context.Request.Path);
                        o.EnrichWithHttpRequest = (activity, _) => SpanScrubbing.Scrub(activity);
                    })
                    .AddHttpClientInstrumentation(o => o.EnrichWithHttpRequestMessage = (activity, _) => SpanScrubbing.Scrub(activity));
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            });
        }

        if (otlp)
        {
            // Through the host's logger factory, so through the redacting logger like every other provider.
            otel.WithLogging(logging => logging.AddOtlpExporter(), o => o.IncludeFormattedMessage = true);
        }

        return builder;
    }

    /// <summary>Health probes and scrapes are not traced: they would be most of the spans and say nothing.</summary>
    private static bool IsOperational(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.Ordinal) || path.StartsWithSegments("/metrics", StringComparison.Ordinal);

    /// <summary>
    /// <c>Logging:Console:FormatterName=json</c> for containers: each line one JSON object, with its scopes (the
    /// TraceId and SpanId the host's <c>ActivityTrackingOptions</c> add) unless the configuration says otherwise.
    /// </summary>
    private static void UseJsonConsoleScopes(IHostApplicationBuilder builder)
    {
        if (string.Equals(builder.Configuration["Logging:Console:FormatterName"], ConsoleFormatterNames.Json, StringComparison.OrdinalIgnoreCase)
            && builder.Configuration["Logging:Console:FormatterOptions:IncludeScopes"] is null)
        {
            builder.Services.Configure<JsonConsoleFormatterOptions>(o => o.IncludeScopes = true);
        }
    }
}

/// <summary>
/// What a span must not carry: ASP.NET Core and HttpClient instrumentation record the query (<c>url.query</c>,
/// <c>url.full</c>), where the sync channel's ticket and other credentials travel. The query is dropped; the path
/// stays. No instrumentation here records request headers (<c>Authorization</c>).
/// </summary>
public static class SpanScrubbing
{
    public static void Scrub(Activity activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        if (activity.GetTagItem("url.query") is not null)
        {
            activity.SetTag("url.query", null);
        }

        if (activity.GetTagItem("url.full") is string full && full.IndexOf('?', StringComparison.Ordinal) is var q and >= 0)
        {
            activity.SetTag("url.full", full[..q]);
        }

        if (activity.DisplayName.Contains('?', StringComparison.Ordinal))
        {
            activity.DisplayName = QuerySecrets.Redact(activity.DisplayName);
        }
    }
}
