using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Supervisor.Actors.Tracing;

namespace Supervisor.Host.Telemetry;

/// <summary>
/// Traces over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>) is set: one
/// trace per API request, with the HTTP server span (ASP.NET Core), the account actor's span (<see cref="SupervisorTrace"/>)
/// and the PDS call's HTTP client span, in W3C trace context (a request's <c>traceparent</c> header is its parent).
/// The exporter reads the standard <c>OTEL_*</c> variables (protocol, headers, batch delays, sampler). Health probes and
/// metric scrapes are not traced.
/// </summary>
public static class Tracing
{
    /// <summary>Whether an OTLP endpoint for traces is configured.</summary>
    public static bool IsExportConfigured(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);

    /// <summary>The spans exported: the supervisor's own, ASP.NET Core's (probes left out) and HttpClient's, over OTLP.</summary>
    public static void Configure(TracerProviderBuilder tracing) => tracing
        .AddSource(SupervisorTrace.SourceName)
        .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsProbe(context.Request.Path))
        .AddHttpClientInstrumentation()
        .AddOtlpExporter();

    /// <summary>Paths an orchestrator or a scraper calls every few seconds: traced, they would bury the requests.</summary>
    internal static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/metrics");
}
