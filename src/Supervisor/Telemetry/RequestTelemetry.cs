using System.Diagnostics;
using Microsoft.AspNetCore.Routing;
using Serilog.Events;
using Supervisor.Actors.Account;

namespace Supervisor.Host.Telemetry;

/// <summary>
/// Records every request the host answers, first in the pipeline so that refusals count too: into
/// <see cref="SupervisorMetrics"/> (method, status code, duration), and as one log line, written while the request's
/// activity is current so that it carries the trace and span ids (<c>@tr</c>, <c>@sp</c> in the JSON log): method, route
/// template (never the path's values or the query), status and duration. Health probes and metric scrapes are logged at
/// Debug.
/// </summary>
public sealed class RequestTelemetry(RequestDelegate next, SupervisorMetrics metrics)
{
    // Serilog's own logger (the host's, under this class's name as source): the line skips the Microsoft.Extensions.Logging
    // adapter, a state object and its translation for every request.
    private readonly Serilog.ILogger _log = Serilog.Log.ForContext<RequestTelemetry>();

    /// <summary>The request's line: method, route template, status code, milliseconds.</summary>
    public const string LineTemplate = "HTTP {Method} {Route} answered {StatusCode} in {ElapsedMs:0.0} ms";

    /// <summary>Runs the request, then counts and logs how it was answered.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        // ASP.NET Core makes an activity only when someone listens (traces exported); otherwise a caller's traceparent
        // still names the trace this request belongs to: the line carries it (and the PDS call after it).
        using var own = Activity.Current is null && context.Request.Headers.TryGetValue("traceparent", out var parent)
                        && ActivityContext.TryParse(parent.ToString(), null, out var remote)
            ? new Activity("HTTP request").SetParentId(remote.TraceId, remote.SpanId, remote.TraceFlags).Start()
            : null;
        try
        {
            await next(context);
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            var (method, status) = (context.Request.Method, context.Response.StatusCode);
            metrics.HttpRequestServed(method, status, elapsed);
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
            _log.Write(Tracing.IsProbe(context.Request.Path) ? LogEventLevel.Debug : LogEventLevel.Information,
                LineTemplate, method, route, status, elapsed.TotalMilliseconds);
        }
    }
}
