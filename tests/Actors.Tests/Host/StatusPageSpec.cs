using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Events;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Host.Events;
using Supervisor.Host.Http;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The status pages as HTML: nothing loaded from elsewhere, links only to its own pages, small at any number of accounts.</summary>
public sealed class StatusPageSpec
{
    private static readonly JournalAvailability Available = new(true, null, null);

    private static AccountStatus Status(string did, string handle, AccountStateName state = AccountStateName.Active, XrpcError? error = null) =>
        new(did, handle, "https://bsky.social", "https://pds.example.com", state, "com.atproto.access",
            DateTimeOffset.UtcNow.AddHours(2), DateTimeOffset.UtcNow.AddDays(90), DateTimeOffset.UtcNow, 3, 1, error, 0);

    private static string Summary(IReadOnlyList<AccountStatus> statuses, ListAccounts query) =>
        StatusPage.Render(AccountPage.Count(statuses, statuses.Count, 0), Available,
            [new ServerLimitStatus("pds.example.com", 3000, 2990, DateTimeOffset.UtcNow.AddMinutes(5), null, statuses.Count, 0)],
            query, AccountPage.Page(statuses, query), DateTimeOffset.UtcNow);

    /// <summary>Nothing in <paramref name="html"/> loads a resource, and every link or form goes to a path of this host.</summary>
    private static void AssertLoadsNothingAndLinksOnlyHere(string html)
    {
        foreach (var pattern in new[]
                 {
                     @"<link\b", @"<script\b", @"<img\b", @"<iframe\b", @"<object\b", @"<embed\b", @"<source\b", @"<image\b", @"<use\b", @"@import", @"@font-face",
                     @"\b(src|srcset|poster|data|xlink:href)\s*=", @"url\s*\(",
                 })
            Assert.DoesNotMatch(new Regex(pattern, RegexOptions.IgnoreCase), html);
        // Every attribute is quoted (text from outside is encoded, so it holds no quote), and links and forms lead to paths here.
        foreach (Match tag in Regex.Matches(html, "<[a-zA-Z][^>]*>"))
        {
            var attributes = Regex.Matches(tag.Value, @"([a-zA-Z][a-zA-Z0-9:-]*)\s*=\s*""([^""]*)""");
            Assert.DoesNotContain('=', Regex.Replace(tag.Value, @"([a-zA-Z][a-zA-Z0-9:-]*)\s*=\s*""([^""]*)""", ""));
            foreach (Match attribute in attributes)
                if (attribute.Groups[1].Value.ToLowerInvariant() is "href" or "action" or "formaction")
                    Assert.Matches("^/(?!/)", attribute.Groups[2].Value);
        }
        // Every http(s) URL in the page is the text of a table cell.
        var cells = Regex.Matches(html, "<td>([^<]*)</td>").Select(m => m.Groups[1].Value).ToList();
        foreach (Match url in Regex.Matches(html, @"https?://[^\s""'<>)]+"))
            Assert.Contains(cells, c => c.Contains(url.Value, StringComparison.Ordinal));
    }

    [Fact]
    public void The_status_page_references_no_outside_resource()
    {
        var accounts = new[]
        {
            Status("did:plc:alice", "alice.example.com"),
            Status("did:plc:bob", "bob.example.com", AccountStateName.Degraded, new XrpcError("InternalServerError", "see https://status.example.com")),
        };
        var html = Summary(accounts, new ListAccounts(State: AccountStateName.Degraded, Query: "\"><a href=//evil.example>x", Limit: 1));
        Assert.Contains("pds.example.com", html);
        AssertLoadsNothingAndLinksOnlyHere(html);
        AssertLoadsNothingAndLinksOnlyHere(Summary(accounts, ListAccounts.Instance));
    }

    [Fact]
    public void The_page_shows_the_counts_first_and_one_filtered_page_with_a_link_to_the_next()
    {
        var statuses = Enumerable.Range(0, 5).Select(i => Status($"did:plc:p{i}", $"user{i}.test", i == 3 ? AccountStateName.NeedsLogin : AccountStateName.Active)).ToList();
        var html = Summary(statuses, new ListAccounts(State: AccountStateName.Active, Query: "user", Limit: 2));

        Assert.Contains("5 accounts", html);
        Assert.Contains("<a href=\"/?state=NeedsLogin\">NeedsLogin: 1</a>", html);
        Assert.True(html.IndexOf("Active: 4", StringComparison.Ordinal) < html.IndexOf("<h2>Accounts</h2>", StringComparison.Ordinal));
        Assert.Equal(2, Regex.Matches(html, "user[0-9]\\.test</td>").Count);
        Assert.Contains("<option selected>Active</option>", html);
        Assert.Contains("name=\"q\" value=\"user\"", html);
        var next = Regex.Match(html, "<a href=\"([^\"]*)\">next page</a>").Groups[1].Value;
        Assert.Equal($"/?state=Active&amp;q=user&amp;cursor={AccountPage.EncodeCursor("did:plc:p1")}", next);
        Assert.Contains($"href=\"{StatusPage.AccountPath("did:plc:p0")}\"", html);
    }

    [Fact]
    public void A_page_of_100_000_accounts_with_the_longest_handles_stays_under_128_KB()
    {
        var long253 = string.Join('.', Enumerable.Repeat(new string('h', 62), 4)) + ".x";
        var statuses = Enumerable.Range(0, 100_000).Select(i => Status($"did:plc:{i:D24}", long253, error: new XrpcError("UpstreamFailure", new string('m', 200)))).ToList();
        var html = Summary(statuses, ListAccounts.Instance);
        Assert.Equal(100, Regex.Matches(html, ">history</a>").Count); // the README's page: 100 accounts
        Assert.Matches("<a href=\"/\\?cursor=[^\"]+\">next page</a>", html);
        Assert.True(Encoding.UTF8.GetByteCount(html) < 128 * 1024, $"{Encoding.UTF8.GetByteCount(html)} bytes");
    }

    [Fact]
    public void An_account_page_shows_its_events_newest_first_with_reasons_as_text_and_a_picture_without_scripts()
    {
        var start = DateTimeOffset.UtcNow.AddHours(-3);
        var events = new[]
        {
            new SessionEvent(SessionEventKind.Create, "did:plc:x", "x.test", null, AccountStateName.Active, null, start),
            new SessionEvent(SessionEventKind.UpdateFailure, "did:plc:x", "x.test", null, AccountStateName.Degraded,
                new XrpcError("InternalServerError", "<script>alert(1)</script> see https://status.example.com"), start.AddHours(1)),
            new SessionEvent(SessionEventKind.Refresh, "did:plc:x", "x.test", null, AccountStateName.Active, null, start.AddHours(2)),
            new SessionEvent(SessionEventKind.Deleted, "did:plc:x", "x.test", null, AccountStateName.NeedsLogin, new XrpcError("ExpiredToken", "Token has been revoked"), start.AddHours(2.5)),
        };

        var html = StatusPage.RenderAccount(Status("did:plc:x", "<b>x</b>.test", AccountStateName.NeedsLogin),
            events.Select(e => HistoryEntry.Of(e, "10.0.0.7:4053")).ToList(), DateTimeOffset.UtcNow);

        var labels = Regex.Matches(html, "<tr><td>[^<]*</td><td[^>]*>([^<]*)</td>").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["needs login", "refreshed", "refresh failed", "created"], labels);
        Assert.Contains("InternalServerError: &lt;script&gt;alert(1)&lt;/script&gt; see https://status.example.com", html);
        Assert.Contains("&lt;b&gt;x&lt;/b&gt;.test", html);
        Assert.Equal(4, Regex.Matches(html, "<td>10.0.0.7:4053</td>").Count);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<b>", html);
        Assert.Contains("<svg ", html);
        Assert.Equal(2, Regex.Matches(html, "<rect [^>]*fill=\"#1a7f37\"").Count);
        Assert.Equal(2, Regex.Matches(html, "<rect [^>]*fill=\"#cf222e\"").Count);
        AssertLoadsNothingAndLinksOnlyHere(html);
    }

    [Fact]
    public async Task An_account_page_for_an_account_still_moving_says_to_try_again_and_an_unknown_one_is_not_found()
    {
        var moving = await NoAccountPageAsync(new AccountReplies.AccountMoved("did:plc:x"), "did:plc:x");
        Assert.Equal((503, "1"), (moving.Status, moving.RetryAfter));
        Assert.Contains("is moving to another node", moving.Html);

        var unknown = await NoAccountPageAsync(new AccountReplies.AccountNotFound("did:plc:y"), "did:plc:y");
        Assert.Equal((404, ""), (unknown.Status, unknown.RetryAfter));
        Assert.Contains("no account", unknown.Html);
    }

    private static async Task<(int Status, string RetryAfter, string Html)> NoAccountPageAsync(object answer, string id)
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext
        {
            RequestServices = new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddLogging().BuildServiceProvider(),
        };
        var body = new MemoryStream();
        context.Response.Body = body;
        await StatusPage.NoAccountPage(answer, id, context.Response).ExecuteAsync(context);
        return (context.Response.StatusCode, context.Response.Headers.RetryAfter.ToString(), Encoding.UTF8.GetString(body.ToArray()));
    }

    [Fact]
    public void An_account_page_says_when_its_history_cannot_be_read()
    {
        var html = StatusPage.RenderAccount(Status("did:plc:x", "x.test"), null, DateTimeOffset.UtcNow);
        Assert.Contains("The history cannot be read now", html);
        Assert.Contains("<td>x.test</td>", html);
    }

    [Fact]
    public async Task An_account_page_stops_waiting_for_a_history_database_that_does_not_answer_after_2_s()
    {
        // A database that takes the connection and never says a word (what a hung server or a black-holed route gives).
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var held = new System.Collections.Concurrent.ConcurrentQueue<System.Net.Sockets.TcpClient>();
        _ = Task.Run(async () =>
        {
            while (true) held.Enqueue(await silent.AcceptTcpClientAsync());
        });
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        var history = new AccountHistory(Supervisor.Host.Configuration.JournalKind.Postgres,
            $"Host=127.0.0.1;Port={port};Username=u;Password=p;Database=d;Timeout=60;Command Timeout=60;Pooling=false");

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Assert.Null(await StatusPage.HistoryOf(history, "did:plc:x", CancellationToken.None));
        Assert.InRange(System.Diagnostics.Stopwatch.GetElapsedTime(started), TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(10));
        Assert.NotEmpty(held);
    }

    [Fact]
    public void An_account_page_with_a_full_history_of_long_reasons_stays_under_64_KB()
    {
        var kept = Enumerable.Range(0, AccountHistory.PerAccount).Select(i => HistoryEntry.Of(
            new SessionEvent(SessionEventKind.UpdateFailure, "did:plc:x", "x.test", null, AccountStateName.Degraded,
                new XrpcError("UpstreamFailure", new string('<', 5_000)), DateTimeOffset.UtcNow.AddMinutes(i - 500)), "[2001:db8::1234:5678]:40530")).ToList();
        var html = StatusPage.RenderAccount(Status("did:plc:x", "x.test"), kept, DateTimeOffset.UtcNow);
        Assert.True(Encoding.UTF8.GetByteCount(html) < 64 * 1024, $"{Encoding.UTF8.GetByteCount(html)} bytes");
    }
}
