using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Http;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// Paged listings over HTTP and the CLI (<c>GET /accounts?state=&amp;q=&amp;limit=&amp;cursor=</c>), the counts of
/// <c>/status</c>, and the status page's account pages, with the host as a process against the fake PDS.
/// </summary>
public sealed class AccountListingHttpSpec : FakePdsHostSpec
{
    private static async Task<JsonElement> JsonAsync(HttpResponseMessage answer) =>
        JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.Clone();

    private async Task<List<FakeAccount>> LoggedInAsync(SupervisorProcess host, params string[] handles)
    {
        var accounts = new List<FakeAccount>();
        foreach (var handle in handles)
        {
            var account = Pds.CreateAccount(handle, "pw-" + handle);
            await LoginAsync(host, account);
            accounts.Add(account);
        }
        return accounts;
    }

    [Fact]
    public async Task GET_accounts_answers_pages_in_DID_order_with_a_cursor_until_the_last_and_filters_by_state_and_text()
    {
        await using var host = new SupervisorProcess(Folder.Folder);
        await host.StartAsync();
        var accounts = await LoggedInAsync(host, "ann.test", "ben.test", "cat.test", "dan.test", "eve.test");
        Pds.RevokeAllRefreshTokens(accounts[1].Did);
        (await host.Http.PostAsync($"/accounts/{accounts[1].Did}/refresh", null)).EnsureSuccessStatusCode();

        var listed = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await host.Http.GetFromJsonAsync<JsonElement>("/accounts?limit=2" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            listed.AddRange(page.GetProperty("accounts").EnumerateArray().Select(a => a.GetProperty("did").GetString()!));
            cursor = page.TryGetProperty("cursor", out var next) ? next.GetString() : null;
            pages++;
        } while (cursor is not null);
        Assert.Equal(3, pages);
        Assert.Equal(accounts.Select(a => a.Did).Order(StringComparer.Ordinal), listed);

        var needsLogin = await host.Http.GetFromJsonAsync<JsonElement>("/accounts?state=needslogin");
        Assert.Equal([accounts[1].Did], needsLogin.GetProperty("accounts").EnumerateArray().Select(a => a.GetProperty("did").GetString()));
        var byText = await host.Http.GetFromJsonAsync<JsonElement>("/accounts?q=CAT.TE&state=Active");
        Assert.Equal([accounts[2].Did], byText.GetProperty("accounts").EnumerateArray().Select(a => a.GetProperty("did").GetString()));

        var status = await host.Http.GetFromJsonAsync<JsonElement>("/status");
        Assert.False(status.TryGetProperty("accounts", out _), "/status counts, it does not list");
        Assert.Equal((5, 4, 1), (status.GetProperty("total").GetInt32(), status.GetProperty("byState").GetProperty("Active").GetInt32(), status.GetProperty("byState").GetProperty("NeedsLogin").GetInt32()));

        // The CLI's listing is refused what the API refuses (its paging: CliListingSpec).
        var (code, output, error) = await host.RunCliAsync("", "accounts", "list", "--state", "Sleeping");
        Assert.Equal(1, code);
        Assert.Contains("HTTP 400", error);
        Assert.Empty(Secrets.JwtsIn(output + error));
    }

    [Fact]
    public async Task A_limit_state_or_cursor_that_cannot_be_read_is_a_400_JSON_error()
    {
        await using var host = new SupervisorProcess(Folder.Folder);
        await host.StartAsync();
        foreach (var query in new[] { "limit=0", "limit=1001", "limit=ten", "limit=-5", "limit=2&limit=3", "state=Sleeping", "state=1", "cursor=not-a-cursor", "cursor=aGVsbG8" })
        {
            using var answer = await host.Http.GetAsync("/accounts?" + query);
            Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
            Assert.Equal("InvalidRequest", (await JsonAsync(answer)).GetProperty("error").GetString());
        }
        using var page = await host.Http.GetAsync("/?cursor=not-a-cursor");
        Assert.Equal(HttpStatusCode.BadRequest, page.StatusCode);
        Assert.Equal(SecurityHeaders.PagePolicy, page.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Fact]
    public async Task The_operator_reads_an_account_page_with_its_recent_events_and_reasons_and_no_token()
    {
        await using var host = new SupervisorProcess(Folder.Folder);
        await host.StartAsync();
        var alice = (await LoggedInAsync(host, "alice-page.test"))[0];
        (await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null)).EnsureSuccessStatusCode();
        Pds.FailNext("com.atproto.server.refreshSession", FakeFailure.ServerError500);
        (await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null)).EnsureSuccessStatusCode();

        using var operatorClient = new HttpClient { BaseAddress = host.Http.BaseAddress };
        operatorClient.DefaultRequestHeaders.Authorization = BasicCredential.Of("operator", host.OperatorPassword);
        string html = "";
        for (var i = 0; i < 50 && !html.Contains("refresh failed"); i++)
        {
            using var answer = await operatorClient.GetAsync(StatusPage.AccountPath(alice.Did));
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal(SecurityHeaders.PagePolicy, answer.Headers.GetValues("Content-Security-Policy").Single());
            html = await answer.Content.ReadAsStringAsync();
            if (!html.Contains("refresh failed")) await Task.Delay(100);
        }
        var events = Regex.Matches(html, "<tr><td>[^<]*</td><td[^>]*>([^<]*)</td>").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["refresh failed", "refreshed", "created"], events.TakeLast(3)); // newest first (a retry may have come since)
        Assert.Contains("alice-page.test", html);
        Assert.Contains("<svg ", html);
        Assert.Empty(Secrets.JwtsIn(html));
        Assert.DoesNotContain(alice.Password, html);

        // The listing links to it; an unknown account is a 404 page; nothing else opens to the operator.
        var listing = await operatorClient.GetStringAsync("/?q=alice-page");
        Assert.Contains($"href=\"{StatusPage.AccountPath(alice.Did)}\"", listing);
        using (var unknown = await operatorClient.GetAsync("/status/accounts/did:plc:nobody"))
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var pdsCalls = Pds.CallsInAll;
        foreach (var path in new[]
                 {
                     "/status", "/accounts", $"/accounts/{alice.Did}", $"/status/accounts/{alice.Did}/more", "/status/accounts",
                     // What reveals tokens or acts as the account: never to the operator's password.
                     $"/accounts/{alice.Did}/session", $"/accounts/{alice.Did}/xrpc/com.atproto.server.getSession",
                     "/keys", "/audit", "/events", "/ui", "/ui/accounts",
                 })
        {
            foreach (var method in new[] { HttpMethod.Get, HttpMethod.Head })
            {
                using var refused = await operatorClient.SendAsync(new HttpRequestMessage(method, path));
                Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{method} {path}: {(int)refused.StatusCode}");
                var body = await refused.Content.ReadAsStringAsync();
                Assert.Empty(Secrets.JwtsIn(body));
            }
        }
        // The PDS-like root takes bearers only (a PDS answers other credentials 400, and so does it).
        using (var xrpc = await operatorClient.GetAsync("/xrpc/com.atproto.server.getSession"))
            Assert.Equal(HttpStatusCode.BadRequest, xrpc.StatusCode);
        Assert.Equal(pdsCalls, Pds.CallsInAll);
        using (var post = await operatorClient.PostAsync(StatusPage.AccountPath(alice.Did), null))
            Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);

        // From another site, by its Origin alone (a browser without Fetch metadata), the password opens nothing either;
        // the page's own origin does.
        foreach (var (origin, expected) in new[] { ("https://evil.example", HttpStatusCode.Forbidden), (host.Http.BaseAddress!.GetLeftPart(UriPartial.Authority), HttpStatusCode.OK) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, StatusPage.AccountPath(alice.Did));
            request.Headers.TryAddWithoutValidation("Origin", origin);
            using var answer = await operatorClient.SendAsync(request);
            Assert.True(answer.StatusCode == expected, $"Origin {origin}: {(int)answer.StatusCode}");
        }
    }
}
