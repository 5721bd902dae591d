using System.Diagnostics;
using Supervisor.Actors.Account;

namespace Supervisor.Host.Telemetry;

/// <summary>Records every HTTP request the host answers (method, status code, duration) into <see cref="SupervisorMetrics"/>.</summary>
public sealed class RequestMetrics(RequestDelegate next, SupervisorMetrics metrics)
{
    /// <summary>Times the rest of the pipeline and records its answer.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            metrics.HttpRequestServed(context.Request.Method, context.Response.StatusCode, Stopwatch.GetElapsedTime(started));
        }
    }
}
