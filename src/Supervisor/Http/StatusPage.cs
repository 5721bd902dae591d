using System.Globalization;
using System.Net;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Events;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Protocol;
using Supervisor.Host.Events;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Host.Http;

/// <summary>
/// The read-only operator pages (policy <see cref="SecurityHeaders.PagePolicy"/>: no scripts, no outside resources):
/// at <c>/</c> a summary (counts by state, the journal, the servers' rate limits) and then one page of accounts, filtered
/// by a GET form (<c>state</c>, <c>q</c>) with a link to the next page (<c>cursor</c>); at <see cref="AccountPath"/> one
/// account's status, its recent session events and a small picture of its refreshes and failures. Whatever came from
/// outside (handles, DIDs, URLs, reasons) is HTML-encoded; no token is ever shown.
/// </summary>
public static class StatusPage
{
    /// <summary>How many accounts one page lists.</summary>
    public const int PageSize = AccountPage.DefaultLimit;

    /// <summary>The route of an account's page (read with the operator password too, as <c>/</c> is).</summary>
    public const string AccountRoute = "/status/accounts/{id}";

    private const string Style = """
        <style>
          body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
          table { border-collapse: collapse; font-size: 0.9rem; margin-bottom: 1rem; }
          th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid #ddd; white-space: nowrap; }
          .state { font-weight: 600; } .Active { color: #1a7f37; } .Degraded, .Refreshing, .Recovering { color: #9a6700; }
          .NeedsLogin, .TakenDown, .LoggedOut, .LoggingOut, .Deactivated { color: #cf222e; }
          .counts span { margin-right: 1.5rem; } .counts a { color: inherit; }
          form { margin: 1rem 0; } .error { color: #cf222e; }
        </style>
        """;

    /// <summary>The path of <paramref name="did"/>'s page.</summary>
    public static string AccountPath(string did) => "/status/accounts/" + Uri.EscapeDataString(did);

    /// <summary>Maps <c>/</c> and the account pages.</summary>
    public static void MapStatusPage(this WebApplication app, TimeSpan askTimeout, ActorSystemEnd end, JournalHealth journal, ServerLimits limits, AccountHistory history)
    {
        app.MapGet("/", async (HttpContext context, IRequiredActor<AccountsSupervisor> supervisor) =>
        {
            context.Response.Headers.ContentSecurityPolicy = SecurityHeaders.PagePolicy;
            if (!ListingQuery.TryParse(context.Request.Query, out var listing, out var problem, maxLimit: PageSize))
                return Html(RenderProblem("Session supervisor", problem), 400);
            var counts = await supervisor.ActorRef.Ask<AccountCounts>(GetAccountCounts.Instance, askTimeout, end.Token);
            var answer = await supervisor.ActorRef.Ask<object>(listing, askTimeout, end.Token);
            if (answer is InvalidQuery invalid) return Html(RenderProblem("Session supervisor", invalid.Error.Message), 400);
            var now = DateTimeOffset.UtcNow;
            return Html(Render(counts, journal.Current, limits.Snapshot(now), listing, (AccountList)answer, now));
        });
        app.MapGet(AccountRoute, async (string id, HttpContext context, IRequiredActor<AccountsSupervisor> supervisor) =>
        {
            context.Response.Headers.ContentSecurityPolicy = SecurityHeaders.PagePolicy;
            var answer = await supervisor.ActorRef.AskAccountAsync(new GetAccountStatus(id), askTimeout, cancel: end.Token);
            return answer switch
            {
                AccountStatus status => Html(RenderAccount(status, await HistoryOf(history, status.Did, context.RequestAborted), DateTimeOffset.UtcNow)),
                AccountUnavailable unavailable => Html(RenderAccount(null, await HistoryOf(history, unavailable.Did, context.RequestAborted), DateTimeOffset.UtcNow, unavailable)),
                _ => NoAccountPage(answer, id, context.Response),
            };
        });
    }

    /// <summary>
    /// The page for an account that is not there: still moving to another node when the page's time was up (503, try again
    /// in a second), or unknown (404).
    /// </summary>
    public static IResult NoAccountPage(object answer, string id, HttpResponse response)
    {
        if (answer is not AccountMoved) return Html(RenderProblem("Account", $"no account '{id}'"), 404);
        response.Headers.RetryAfter = "1";
        return Html(RenderProblem("Account", $"account '{id}' is moving to another node; try again in a moment"), 503);
    }

    /// <summary>How long an account page waits for its history before it shows the page without it.</summary>
    public static readonly TimeSpan HistoryTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The account's history, or null when its database does not answer within <see cref="HistoryTimeout"/> (a journal
    /// outage). The page stops waiting then, even where the database client does not heed the cancellation (Npgsql's open
    /// of a connection that a server took and never answered waits for its own timeout): the read is left to end on its own.
    /// </summary>
    internal static async Task<IReadOnlyList<HistoryEntry>?> HistoryOf(AccountHistory history, string did, CancellationToken aborted)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        cancel.CancelAfter(HistoryTimeout);
        var read = history.OfAsync(did, cancel.Token);
        try
        {
            return await read.WaitAsync(cancel.Token);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or OperationCanceledException or TimeoutException && !aborted.IsCancellationRequested)
        {
            _ = read.ContinueWith(left => left.Exception, TaskContinuationOptions.OnlyOnFaulted); // its end, seen by no one
            return null;
        }
    }

    /// <summary>The summary and one page of accounts.</summary>
    public static string Render(
        AccountCounts counts, JournalAvailability journal, IReadOnlyList<ServerLimitStatus> servers, ListAccounts listing, AccountList page, DateTimeOffset now)
    {
        var html = Start("Session supervisor");
        html.Append("<h1>Session supervisor</h1>");
        html.Append("<p class=\"counts\"><span><a href=\"/\">").Append(counts.Total).Append(" accounts</a></span>")
            .Append("<span>").Append(counts.Running).Append(" running</span><span>").Append(counts.Passivated).Append(" passivated</span>");
        if (counts.UnjournaledEvents > 0) html.Append("<span class=\"error\">").Append(counts.UnjournaledEvents).Append(" events not journaled yet</span>");
        html.Append("</p><p class=\"counts\">");
        foreach (var (state, n) in counts.ByState.Where(c => c.Value > 0).OrderBy(c => c.Key))
            html.Append($"<span class=\"state {state}\"><a href=\"{E(ListPath(new ListAccounts(State: state)))}\">{state}: {n}</a></span>");
        html.Append("</p>");

        html.Append("<p>Journal: <span class=\"state ").Append(journal.Available ? "Active\">Available" : "Degraded\">Degraded").Append("</span>");
        if (journal.Since is { } since) html.Append(" since ").Append(Time(since));
        if (journal.Error is { } error) html.Append(": <span class=\"error\">").Append(E(error)).Append("</span>");
        html.Append("</p>");
        if (servers.Count > 0)
        {
            html.Append("<table><thead><tr><th>server</th><th>limit</th><th>remaining</th><th>reset</th><th>blocked until</th><th>accounts</th><th>held calls</th></tr></thead><tbody>");
            foreach (var s in servers)
                html.Append($"<tr><td>{E(s.Server)}</td><td>{s.Limit}</td><td>{s.Remaining}</td><td>{Time(s.Reset)}</td><td>{Time(s.BlockedUntil)}</td><td>{s.Accounts}</td><td>{s.HeldCalls}</td></tr>");
            html.Append("</tbody></table>");
        }

        html.Append("<h2>Accounts</h2><form method=\"get\" action=\"/\"><label>state <select name=\"state\"><option value=\"\">any</option>");
        foreach (var state in Enum.GetValues<AccountStateName>())
            html.Append($"<option{(listing.State == state ? " selected" : "")}>{state}</option>");
        html.Append($"</select></label> <label>handle or DID contains <input name=\"q\" value=\"{E(listing.Query)}\"></label> <button>show</button></form>");
        if (listing.State is not null || listing.Query is not null || listing.Cursor is not null)
            html.Append("<p>").Append(listing.Cursor is null ? "First page" : "A later page").Append(" of the accounts")
                .Append(listing.State is { } only ? $" in state {only}" : "").Append(listing.Query is { } q ? $" whose handle or DID contains \u201c{E(q)}\u201d" : "")
                .Append(". <a href=\"/\">All accounts</a></p>");

        html.Append("<table class=\"accounts\"><thead><tr><th>handle</th><th>did</th><th>state</th><th>scope</th><th>pds</th>")
            .Append("<th>access expires</th><th>last refresh</th><th>refreshes</th><th>logins</th><th>last error</th><th></th></tr></thead><tbody>");
        foreach (var a in page.Accounts)
        {
            html.Append($"<tr><td>{E(a.Handle)}</td><td>{E(a.Did)}</td><td class=\"state {a.State}\">{a.State}</td><td>{E(a.Scope)}</td>")
                .Append($"<td>{E(a.Pds)}</td><td>{Time(a.AccessExpiresAt)}</td><td>{Time(a.LastRefreshAt)}</td>")
                .Append($"<td>{a.RefreshCount}</td><td>{a.LoginCount}</td><td>{E(a.LastError is null ? "" : $"{a.LastError.Error}: {a.LastError.Message}")}</td>")
                .Append($"<td><a href=\"{E(AccountPath(a.Did))}\">history</a></td></tr>");
        }
        html.Append("</tbody></table>");
        if (page.Accounts.Count == 0) html.Append("<p>No account matches.</p>");
        if (page.NextCursor is { } next) html.Append($"<p><a href=\"{E(ListPath(listing with { Cursor = next }))}\">next page</a></p>");
        html.Append($"<p>As of {Time(now)}.</p></body></html>");
        return html.ToString();
    }

    /// <summary>
    /// One account's page: its status (or, when it cannot answer now, why), its recent session events newest first, and
    /// a picture of its refreshes and failures over the time they span; <paramref name="history"/> is null when it could
    /// not be read (the page says so).
    /// </summary>
    public static string RenderAccount(AccountStatus? status, IReadOnlyList<HistoryEntry>? history, DateTimeOffset now, AccountUnavailable? unavailable = null)
    {
        var did = status?.Did ?? unavailable?.Did ?? "";
        var html = Start("Account " + (status?.Handle ?? did));
        html.Append("<p><a href=\"/\">All accounts</a></p><h1>").Append(E(status?.Handle ?? did)).Append("</h1>");
        html.Append("<table><tbody>");
        void Row(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value)) html.Append("<tr><th>").Append(name).Append("</th><td>").Append(value).Append("</td></tr>");
        }
        Row("did", E(did));
        if (status is not null)
        {
            Row("handle", E(status.Handle));
            Row("unverified handle", E(status.UnverifiedHandle));
            Row("state", $"<span class=\"state {status.State}\">{status.State}</span>");
            Row("service", E(status.Service));
            Row("pds", E(status.Pds));
            Row("scope", E(status.Scope));
            Row("access expires", Time(status.AccessExpiresAt));
            Row("refresh expires", Time(status.RefreshExpiresAt));
            Row("last refresh", Time(status.LastRefreshAt));
            Row("refreshes", status.RefreshCount.ToString(CultureInfo.InvariantCulture));
            Row("logins", status.LoginCount.ToString(CultureInfo.InvariantCulture));
            Row("pending requests", status.PendingRequests.ToString(CultureInfo.InvariantCulture));
            if (status.UnjournaledEvents > 0) Row("events not journaled yet", status.UnjournaledEvents.ToString(CultureInfo.InvariantCulture));
            Row("last error", status.LastError is { } e ? $"<span class=\"error\">{E($"{e.Error}: {e.Message}")}</span>" : null);
        }
        else if (unavailable is not null)
        {
            Row("state", $"<span class=\"state {unavailable.State}\">{unavailable.State}</span>");
            Row("why", $"<span class=\"error\">{E($"{unavailable.Error.Error}: {unavailable.Error.Message}")}</span>");
        }
        html.Append("</tbody></table>");

        html.Append("<h2>Recent session events</h2>");
        if (history is null)
        {
            html.Append("<p class=\"error\">The history cannot be read now: the journal's database does not answer.</p>");
        }
        else if (history.Count == 0)
        {
            html.Append("<p>No session event kept for this account.</p>");
        }
        else
        {
            html.Append(Timeline(history, now));
            html.Append("<table><thead><tr><th>time</th><th>event</th><th>state after</th><th>reason</th><th>node</th></tr></thead><tbody>");
            for (var i = history.Count - 1; i >= 0; i--)
            {
                var h = history[i];
                html.Append($"<tr><td>{Time(h.At)}</td><td{(h.IsFailure ? " class=\"error\"" : "")}>{Label(h)}</td>")
                    .Append($"<td class=\"state {h.State}\">{h.State}</td><td>{E(h.Reason)}</td><td>{E(h.Node)}</td></tr>");
            }
            html.Append("</tbody></table>");
        }
        html.Append($"<p>The last {AccountHistory.PerAccount} session events at most, kept in the journal's database: across restarts, the same on every node ")
            .Append("(written about a second after each event by the node the account runs on; dropped, not delayed, during a long journal outage). ")
            .Append($"As of {Time(now)}.</p></body></html>");
        return html.ToString();
    }

    /// <summary>A page that says what is wrong with the request.</summary>
    public static string RenderProblem(string title, string problem) =>
        Start(title).Append("<h1>").Append(E(title)).Append("</h1><p class=\"error\">").Append(E(problem))
            .Append("</p><p><a href=\"/\">All accounts</a></p></body></html>").ToString();

    /// <summary>What an event was, in words.</summary>
    public static string Label(HistoryEntry entry) => entry.Kind switch
    {
        SessionEventKind.Create => "created",
        SessionEventKind.Refresh => "refreshed",
        SessionEventKind.Import => "imported",
        SessionEventKind.UpdateFailure => "refresh failed",
        SessionEventKind.DeleteFailure => "logout failed",
        SessionEventKind.Deleted => entry.State switch
        {
            AccountStateName.NeedsLogin => "needs login",
            AccountStateName.TakenDown => "taken down",
            AccountStateName.LoggedOut => "logged out",
            AccountStateName.Deactivated => "deactivated",
            _ => "session ended",
        },
        _ => entry.Kind.ToString(),
    };

    /// <summary>
    /// An inline SVG (no script, nothing loaded) of the events over the time from the first one to now: sessions started
    /// or refreshed as green marks above the line, failures and ends as red marks below it, each with its time as a title.
    /// </summary>
    private static string Timeline(IReadOnlyList<HistoryEntry> history, DateTimeOffset now)
    {
        const int width = 640, height = 72, left = 8, right = 8, mid = 32;
        var from = history[0].At;
        var to = now > history[^1].At ? now : history[^1].At;
        var span = Math.Max((to - from).TotalSeconds, 1);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"refreshes and failures over time\">");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{mid}\" x2=\"{width - right}\" y2=\"{mid}\" stroke=\"#999\" stroke-width=\"1\"/>");
        var (ok, failed) = (0, 0);
        foreach (var h in history)
        {
            var x = left + (width - left - right) * (h.At - from).TotalSeconds / span;
            var (y, colour) = h.IsFailure ? (mid + 2, "#cf222e") : (mid - 22, "#1a7f37");
            if (h.IsFailure) failed++;
            else ok++;
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x - 1.5:0.#}\" y=\"{y}\" width=\"3\" height=\"20\" fill=\"{colour}\"><title>{Time(h.At)} {Label(h)}</title></rect>");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{height - 4}\" font-size=\"10\" fill=\"#555\">{Time(from)}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{width - right}\" y=\"{height - 4}\" font-size=\"10\" fill=\"#555\" text-anchor=\"end\">{Time(to)}</text>");
        svg.Append("</svg>");
        return $"<p>{ok} sessions started or refreshed (green, above), {failed} failures or ends (red, below).</p>{svg}";
    }

    /// <summary>The path of the page <paramref name="listing"/> asks for (its parameters escaped; the limit is the page's own).</summary>
    private static string ListPath(ListAccounts listing)
    {
        var query = new List<string>();
        if (listing.State is { } state) query.Add("state=" + state);
        if (!string.IsNullOrEmpty(listing.Query)) query.Add("q=" + Uri.EscapeDataString(listing.Query));
        if (listing.Cursor is { } cursor) query.Add("cursor=" + Uri.EscapeDataString(cursor));
        return query.Count == 0 ? "/" : "/?" + string.Join('&', query);
    }

    private static StringBuilder Start(string title) => new StringBuilder()
        .Append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title>\n")
        .Append("<meta http-equiv=\"refresh\" content=\"30\">\n").Append(Style).Append("</head><body>\n");

    private static IResult Html(string html, int status = 200) => Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);

    private static string E(object? value) => WebUtility.HtmlEncode(value?.ToString() ?? "");

    private static string Time(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "";
}
