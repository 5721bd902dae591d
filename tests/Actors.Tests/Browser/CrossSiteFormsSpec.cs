using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Browser;

/// <summary>
/// A hostile page on another site, in a real browser (headless Chromium) that holds the operator's Basic login
/// for the supervisor, can neither change nor read anything (tests/browser/cross-site-forms.js).
/// </summary>
public sealed class CrossSiteFormsSpec(ITestOutputHelper output) : FakePdsHostSpec
{
    [Fact]
    public async Task Forms_and_fetches_from_another_site_change_and_read_nothing_with_the_operator_login_cached()
    {
        await using var host = new SupervisorProcess(Folder.Folder);
        await host.StartAsync();
        var victim = Pds.CreateAccount("victim.test", "pw-victim");
        await LoginAsync(host, victim);
        // Valid bodies for every route, so that only the supervisor's defences stand in the way.
        var evil = Pds.CreateAccount("evil.test", "pw-evil");
        var (access, refresh) = Pds.IssuePair(evil.Did);
        var before = await StatusAsync(host, victim.Did);
        var calls = Calls();

        var attackStarted = DateTimeOffset.UtcNow;
        var findings = await BrowserScript.RunAsync("cross-site-forms.js", new
        {
            supervisor = host.Http.BaseAddress!.ToString().TrimEnd('/'),
            operatorPassword = host.OperatorPassword,
            did = victim.Did,
            attackerHost = "127.0.0.2",
            login = new { identifier = evil.Handle, password = evil.Password, service = Pds.Url },
            import = new { session = $"{evil.Handle}:::{evil.Did}:::{access}:::{refresh}:::{Pds.Url}", service = Pds.Url },
            record = new { repo = victim.Did, collection = "app.bsky.feed.post", record = new { text = "posted by another site", createdAt = "2025-01-01T00:00:00Z" } },
        });
        var attackEnded = DateTimeOffset.UtcNow;
        output.WriteLine(findings.GetRawText());

        // Nothing changed: read with the admin token, and counted at the PDS.
        var list = await host.Http.GetFromJsonAsync<JsonElement>("/accounts");
        var after = await StatusAsync(host, victim.Did);
        var changes = new List<string>();
        var accounts = list.GetProperty("accounts").EnumerateArray().Select(a => a.GetProperty("did").GetString()).ToList();
        if (!accounts.SequenceEqual([victim.Did])) changes.Add($"accounts are now {string.Join(", ", accounts)}");
        foreach (var field in new[] { "refreshCount", "loginCount", "state" })
            if (before.GetProperty(field).ToString() != after.GetProperty(field).ToString())
                changes.Add($"{field} went from {before.GetProperty(field)} to {after.GetProperty(field)}");
        if (Calls() != calls) changes.Add($"PDS calls (logins, refreshes, logouts, records) went from {calls} to {Calls()}");
        Assert.True(changes.Count == 0, string.Join("; ", changes));

        // What the supervisor answered, from its own request log: every POST the page sent (18: forms in frames and
        // windows, no-cors fetches) was refused, and so was anything else that is not a read.
        var answers = await ChangesAnsweredAsync(host, attackStarted, attackEnded, atLeast: 18);
        output.WriteLine(string.Join(Environment.NewLine, answers));
        Assert.True(answers.Count >= 18, $"the supervisor logged {answers.Count} answers to the page's changes: {string.Join(", ", answers)}");
        Assert.All(answers, a => Assert.True(a.Status is 401 or 403, $"{a.Method} {a.Route} was answered {a.Status}"));

        // The browser had the operator's login: the status page rendered before the attack.
        Assert.Equal(200, findings.GetProperty("statusPage").GetProperty("status").GetInt32());
        Assert.Equal("Session supervisor", findings.GetProperty("statusPage").GetProperty("heading").GetString());

        var attempts = findings.GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal(19, attempts.Count);
        foreach (var attempt in attempts)
        {
            var name = attempt.GetProperty("name").GetString();
            var status = attempt.GetProperty("status");
            switch (attempt.GetProperty("via").GetString())
            {
                // New windows are top-level navigations: Chromium attaches the cached Basic login, and the supervisor refuses it.
                case "window":
                    Assert.True(status.ValueKind == JsonValueKind.Number && status.GetInt32() == 403, $"{name}: answered {status}, not 403");
                    Assert.Equal("Forbidden", attempt.GetProperty("error").GetString());
                    break;
                // Forms in frames: refused (Chromium keeps the login of a frame of another site apart, so 401), and the answer
                // is not framed: the frame holds Chromium's error page. Chromium does not always report a cross-site frame's
                // network events to the page's watcher (the frame runs in a process of its own): the request log above holds
                // every answer, the frame's own document shows it was not rendered.
                case "frame":
                    Assert.True(status.ValueKind == JsonValueKind.Null || status.GetInt32() is 401 or 403, $"{name}: answered {status}");
                    Assert.StartsWith("chrome-error://", attempt.GetProperty("document").GetString());
                    break;
                // no-cors fetches: the page learns nothing (Cross-Origin-Resource-Policy), whatever the supervisor answered.
                default:
                    Assert.Equal("TypeError", attempt.GetProperty("page").GetProperty("error").GetString());
                    Assert.StartsWith("net::ERR_BLOCKED_BY_RESPONSE", attempt.GetProperty("failure").GetString());
                    break;
            }
        }
        // Reading the session export or /status with credentials, and a DELETE (preflighted), fail in the page (no CORS).
        foreach (var read in new[] { "session", "status", "delete" })
        {
            var answer = findings.GetProperty("reads").GetProperty(read);
            Assert.False(answer.GetProperty("ok").GetBoolean(), $"the attacker's page read {read}: {answer}");
        }
        // The status page in an iframe of the attacker's page does not render.
        var frame = findings.GetProperty("frame");
        Assert.StartsWith("chrome-error://", frame.GetProperty("document").GetString());
        Assert.NotEqual("Session supervisor", frame.GetProperty("heading").GetString()?.Trim());
    }

    /// <summary>The answers the host logged between <paramref name="from"/> and <paramref name="to"/> to requests that are not reads (waits for <paramref name="atLeast"/> of them, up to 10 s: a line is written once its answer has left).</summary>
    private static async Task<List<(string Method, string Route, int Status)>> ChangesAnsweredAsync(SupervisorProcess host, DateTimeOffset from, DateTimeOffset to, int atLeast)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var answers = host.LogLines()
                .Where(l => l.TryGetProperty("Method", out _) && l.TryGetProperty("StatusCode", out _) && l.GetProperty("@t").GetDateTimeOffset() is var at && at >= from && at <= to)
                .Select(l => (Method: l.GetProperty("Method").GetString()!, Route: l.GetProperty("Route").GetString()!, Status: l.GetProperty("StatusCode").GetInt32()))
                .Where(a => a.Method is not ("GET" or "HEAD" or "OPTIONS"))
                .ToList();
            if (answers.Count >= atLeast || DateTime.UtcNow > until) return answers;
            await Task.Delay(200);
        }
    }

    private static async Task<JsonElement> StatusAsync(SupervisorProcess host, string did) =>
        await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{did}");

    /// <summary>The PDS calls an attack could cause: logins, refreshes, logouts, records.</summary>
    private (int Logins, int Refreshes, int Logouts, int Records) Calls() => (
        Pds.CallCount("com.atproto.server.createSession"), Pds.CallCount("com.atproto.server.refreshSession"),
        Pds.CallCount("com.atproto.server.deleteSession"), Pds.CallCount("com.atproto.repo.createRecord"));
}
