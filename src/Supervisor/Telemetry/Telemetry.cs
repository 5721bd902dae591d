using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Supervisor.Actors.Account;

namespace Supervisor.Host.Telemetry;

/// <summary>
/// The host's OpenTelemetry setup in one place: the <see cref="SupervisorMetrics"/> meter exported in the Prometheus
/// text format at <c>/metrics</c> (open, as before; see <see cref="Http.ApiAuthentication"/>) and, when the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, to an OpenTelemetry collector over OTLP (the exporter reads the other
/// standard <c>OTEL_EXPORTER_OTLP_*</c> and <c>OTEL_METRIC_EXPORT_INTERVAL</c> variables itself).
/// </summary>
public static class Telemetry
{
    /// <summary>The service name the exported telemetry carries (<c>OTEL_SERVICE_NAME</c> overrides it).</summary>
    public const string ServiceName = "supervisor";

    /// <summary>The .NET runtime's built-in meter, exported beside the supervisor's (series <c>dotnet_*</c>).</summary>
    public const string RuntimeMeterName = "System.Runtime";

    /// <summary>True when telemetry is also sent over OTLP.</summary>
    public static bool OtlpConfigured => Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 };

    /// <summary>Registers <paramref name="metrics"/> and the OpenTelemetry providers (metrics; tracing joins the same builder).</summary>
    public static IServiceCollection AddSupervisorTelemetry(this IServiceCollection services, SupervisorMetrics metrics, IConfiguration configuration)
    {
        services.AddSingleton(metrics);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                if (string.IsNullOrWhiteSpace(configuration["OTEL_SERVICE_NAME"])) resource.AddService(ServiceName, serviceVersion: metrics.Meter.Version);
            })
            .WithMetrics(meters =>
            {
                meters.AddMeter(SupervisorMetrics.MeterName);
                // The runtime's own (.NET's built-in meter): GC, heap and allocations, thread pool, CPU time, exceptions.
                meters.AddMeter(RuntimeMeterName);
                // No otel_scope_* labels: the series keep the names and labels they had before the meter (README, "Metrics").
                // A scrape answer is reused for 300 ms (README: against scrape storms; the exporter's default, said here).
                meters.AddPrometheusExporter(prometheus =>
                {
                    prometheus.ScopeInfoEnabled = false;
                    prometheus.ScrapeResponseCacheDurationMilliseconds = 300;
                });
                if (OtlpConfigured) meters.AddOtlpExporter();
            });
        // Traces only when they are exported (README, "Traces").
        if (Tracing.IsExportConfigured(configuration)) telemetry.WithTracing(Tracing.Configure);
        return services;
    }

    /// <summary>Maps <c>GET /metrics</c> (every request is counted and timed by <see cref="RequestTelemetry"/>).</summary>
    public static void UseSupervisorMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");
        // The meter provider starts listening when it is first resolved; the counters are published once it does.
        app.Services.GetRequiredService<MeterProvider>();
        app.Services.GetRequiredService<SupervisorMetrics>().PublishCounters();
    }
}
