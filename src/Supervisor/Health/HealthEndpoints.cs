using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Supervisor.Actors.Journal;
using Supervisor.Host.Http;

namespace Supervisor.Host.Health;

/// <summary>
/// The probes for orchestrators, through ASP.NET Core health checks (README, "Health"), open like <c>/healthz</c>:
/// <c>GET /healthz/live</c> answers 200 while the process serves HTTP; <c>GET /healthz/ready</c> answers 200 once the
/// node has started its accounts' index and is <c>Up</c> in its cluster (503 before, and once it leaves), with the
/// journal shown as <c>Degraded</c> during an outage (still 200: the accounts serve through it).
/// </summary>
public static class HealthEndpoints
{
    /// <summary>The tag of the checks that decide readiness.</summary>
    public const string Ready = "ready";

    /// <summary>Registers the checks.</summary>
    public static IServiceCollection AddSupervisorHealth(this IServiceCollection services, JournalHealth journal)
    {
        services.AddSingleton(journal);
        services.AddSingleton<AccountsIndexCheck>();
        services.AddSingleton<JournalCheck>();
        services.AddSingleton<ClusterMemberCheck>();
        services.AddHealthChecks()
            .AddCheck<AccountsIndexCheck>("accounts", tags: [Ready])
            .AddCheck<JournalCheck>("journal", tags: [Ready])
            .AddCheck<ClusterMemberCheck>("cluster", tags: [Ready]);
        return services;
    }

    /// <summary>Maps <c>/healthz/live</c> and <c>/healthz/ready</c>.</summary>
    public static void MapSupervisorHealth(this WebApplication app)
    {
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(Ready), ResponseWriter = WriteAsync });
    }

    /// <summary><c>{"status":"Healthy","checks":{"accounts":{"status":"Healthy","description":"..."}}}</c>.</summary>
    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        var checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description });
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { status = report.Status.ToString(), checks }, ApiJson.Options));
    }
}
