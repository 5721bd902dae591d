using System.Net;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Protocol;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Host.Http;

/// <summary>The read-only operator page at <c>/</c>: counts by state and one row per account. No scripts, no outside fonts, no tokens.</summary>
public static class StatusPage
{
    /// <summary>Maps the page.</summary>
    public static void MapStatusPage(this WebApplication app, TimeSpan askTimeout) =>
        app.MapGet("/", async (HttpContext context, IRequiredActor<AccountsSupervisor> supervisor) =>
        {
            var list = await supervisor.ActorRef.Ask<AccountList>(ListAccounts.Instance, askTimeout);
            context.Response.Headers.ContentSecurityPolicy = SecurityHeaders.PagePolicy;
            return Results.Content(Render(list.Accounts, DateTimeOffset.UtcNow), "text/html; charset=utf-8");
        });

    /// <summary>The page's HTML.</summary>
    public static string Render(IReadOnlyList<AccountStatus> accounts, DateTimeOffset now)
    {
        static string E(object? value) => WebUtility.HtmlEncode(value?.ToString() ?? "");
        static string Time(DateTimeOffset? t) => t?.ToString("yyyy-MM-dd HH:mm:ss'Z'") ?? "";
        var html = new StringBuilder("""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Session supervisor</title>
            <meta http-equiv="refresh" content="10">
            <style>
              body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
              table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
              th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid #ddd; white-space: nowrap; }
              .state { font-weight: 600; } .Active { color: #1a7f37; } .Degraded, .Refreshing { color: #9a6700; }
              .NeedsLogin, .TakenDown, .LoggedOut, .LoggingOut, .Deactivated { color: #cf222e; }
              .counts span { margin-right: 1.5rem; }
            </style></head><body>
            <h1>Session supervisor</h1>
            """);
        html.Append("<p class=\"counts\">").Append("<span>").Append(accounts.Count).Append(" accounts</span>");
        foreach (var group in accounts.GroupBy(a => a.State).OrderBy(g => g.Key))
            html.Append($"<span class=\"state {group.Key}\">{group.Key}: {group.Count()}</span>");
        html.Append("</p><table><thead><tr><th>handle</th><th>did</th><th>state</th><th>scope</th><th>pds</th>")
            .Append("<th>access expires</th><th>last refresh</th><th>refreshes</th><th>logins</th><th>last error</th></tr></thead><tbody>");
        foreach (var a in accounts)
        {
            html.Append($"<tr><td>{E(a.Handle)}</td><td>{E(a.Did)}</td><td class=\"state {a.State}\">{a.State}</td><td>{E(a.Scope)}</td>")
                .Append($"<td>{E(a.Pds)}</td><td>{Time(a.AccessExpiresAt)}</td><td>{Time(a.LastRefreshAt)}</td>")
                .Append($"<td>{a.RefreshCount}</td><td>{a.LoginCount}</td><td>{E(a.LastError is null ? "" : $"{a.LastError.Error}: {a.LastError.Message}")}</td></tr>");
        }
        html.Append($"</tbody></table><p>As of {Time(now)}.</p></body></html>");
        return html.ToString();
    }
}
