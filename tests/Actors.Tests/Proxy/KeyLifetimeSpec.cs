using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Configuration;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Proxy;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>
/// What ends an account key's reach, against a fake PDS: a session's deleteSession ends that session only; revoking the
/// key ends the sessions it opened; its expiry ends it and them by itself; a session's access token ends at its own
/// lifetime; a privileged method is refused to a key not issued with it, every one of them, in any case, by the key and
/// by its session alike, and the PDS never hears of it.
/// </summary>
public sealed class KeyLifetimeSpec : FakePdsHostSpec
{
    private static async Task<(HttpStatusCode Status, string? Error)> GetSessionAsync(SupervisorProcess host, string bearer, string path = "/xrpc/com.atproto.server.getSession")
    {
        using var client = ClientWith(host, bearer);
        using var answer = await client.GetAsync(path);
        return (answer.StatusCode, ErrorOf(await answer.Content.ReadAsStringAsync()));
    }

    private static async Task<(HttpStatusCode Status, string? Error)> RefreshAsync(SupervisorProcess host, string refresh)
    {
        using var answer = await RefreshKeySessionAsync(host, refresh);
        return (answer.StatusCode, ErrorOf(await answer.Content.ReadAsStringAsync()));
    }

    private static string? ErrorOf(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("error", out var error) ? error.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [Fact]
    public async Task A_key_sessions_answer_has_the_PDSs_email_fields_and_goes_without_them_when_getSession_hangs()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };

        // getSession does not answer: the session is opened all the same, after 5 s, without the e-mail fields.
        Pds.FailNext("com.atproto.server.getSession", FakePds.FakeFailure.Hang);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var login = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = alice.Handle, password = key }))
        {
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
            var session = await login.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(alice.Did, session.GetProperty("did").GetString());
            Assert.False(session.TryGetProperty("email", out _), "an e-mail field without getSession's answer");
        }
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(4.5), TimeSpan.FromSeconds(15));

        Pds.RequireAuthFactor(alice.Did, "123456"); // the PDS's getSession now says emailAuthFactor
        using (var login = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = alice.Handle, password = key }))
        {
            var session = await login.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal((alice.Email, false, true), (session.GetProperty("email").GetString(), session.GetProperty("emailConfirmed").GetBoolean(),
                session.GetProperty("emailAuthFactor").GetBoolean()));
        }
    }

    [Fact]
    public async Task Logins_by_email_with_a_key_cost_the_PDS_one_getSession_a_minute_however_many_come()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };
        var calls = Pds.CallCount("com.atproto.server.getSession");

        // A key holder sends logins naming e-mails that are not the account's, all at once, then one after the other.
        async Task<HttpStatusCode> LoginAsync(string identifier)
        {
            using var login = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier, password = key });
            return login.StatusCode;
        }
        var refused = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => LoginAsync($"nobody{i}@example.com")));
        Assert.All(refused, status => Assert.Equal(HttpStatusCode.Unauthorized, status));
        for (var i = 0; i < 8; i++) Assert.Equal(HttpStatusCode.Unauthorized, await LoginAsync($"someone{i}@example.com"));
        Assert.Equal(calls + 1, Pds.CallCount("com.atproto.server.getSession"));
        // The account's own, in any case: the session it opens answers with the e-mail fields as they are now (one more call).
        Assert.Equal(HttpStatusCode.OK, await LoginAsync(alice.Email.ToUpperInvariant()));
        Assert.Equal(calls + 2, Pds.CallCount("com.atproto.server.getSession"));
    }

    [Fact]
    public async Task Logins_by_email_while_the_PDS_fails_getSession_ask_it_again_only_after_a_while()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };
        var calls = Pds.CallCount("com.atproto.server.getSession");
        Pds.FailNext("com.atproto.server.getSession", FakePds.FakeFailure.ServerError500, times: 100);
        for (var i = 0; i < 8; i++)
        {
            using var login = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = alice.Email, password = key });
            Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        }
        Assert.Equal(calls + 1, Pds.CallCount("com.atproto.server.getSession"));
    }

    [Fact]
    public async Task A_key_login_to_an_account_held_without_a_session_is_refused_as_its_PDS_would_and_calls_say_NeedsLogin_not_a_token_error()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        var bob = await LoggedInAsync(host, "bob.test");
        var (_, aliceKey) = await IssueKeyAsync(host, alice.Did);
        var (_, bobKey) = await IssueKeyAsync(host, bob.Did);
        var (access, _) = await OpenKeySessionAsync(host, alice.Handle, aliceKey);

        // alice's session is revoked at the PDS (its tokens refused, the refresh too): she needs an operator's login.
        Pds.RevokeAllRefreshTokens(alice.Did);
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.UtcNow.AddMinutes(1);
        await GetSessionAsync(host, access);
        // A client that took ExpiredToken for its own token would refresh and log in again for ever.
        Assert.Equal((HttpStatusCode.Conflict, "NeedsLogin"), await GetSessionAsync(host, access));
        // bob is taken down, and his supervisor learns it at his next call.
        Pds.Takedown(bob.Did);
        using (var bobs = ClientWith(host, (await OpenKeySessionAsync(host, bob.Handle, bobKey)).Access))
            (await bobs.PostAsync("/xrpc/com.atproto.repo.createRecord", JsonContent.Create(new { repo = bob.Did, collection = "app.bsky.feed.post", record = new { text = "x" } }))).Dispose();
        await SupervisorSpec.EventuallyAsync(async () => (await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{bob.Did}")).GetProperty("state").GetString() == "TakenDown",
            TimeSpan.FromSeconds(10), "bob's takedown to be seen");

        using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };
        using (var login = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = alice.Handle, password = aliceKey }))
            Assert.Equal((HttpStatusCode.Unauthorized, "AuthenticationRequired"), (login.StatusCode, ErrorOf(await login.Content.ReadAsStringAsync())));
        using (var login = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = bob.Handle, password = bobKey }))
            Assert.Equal((HttpStatusCode.Unauthorized, "AccountTakedown"), (login.StatusCode, ErrorOf(await login.Content.ReadAsStringAsync())));
    }

    [Fact]
    public async Task A_key_sessions_getSession_never_hands_on_a_PDS_page_only_JSON_of_the_supervisors_own()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        var (access, _) = await OpenKeySessionAsync(host, alice.Handle, key);
        using var client = ClientWith(host, access);

        Pds.AnswerWith("com.atproto.server.getSession", """<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"""u8.ToArray(), "image/svg+xml");
        using (var page = await client.GetAsync("/xrpc/com.atproto.server.getSession"))
        {
            Assert.Equal((HttpStatusCode.BadGateway, "application/json"), (page.StatusCode, page.Content.Headers.ContentType?.MediaType));
            Assert.Equal("InvalidResponse", ErrorOf(await page.Content.ReadAsStringAsync()));
        }
        Pds.AnswerWith("com.atproto.server.getSession", "<html><body>Bad gateway</body></html>"u8.ToArray(), "text/html", status: 500);
        using (var error = await client.GetAsync("/xrpc/com.atproto.server.getSession"))
        {
            Assert.Equal((HttpStatusCode.InternalServerError, "application/json"), (error.StatusCode, error.Content.Headers.ContentType?.MediaType));
            Assert.Equal("InvalidResponse", ErrorOf(await error.Content.ReadAsStringAsync()));
        }
    }

    [Fact]
    public async Task A_sessions_deleteSession_ends_that_session_only_and_neither_the_keys_other_sessions_nor_the_key()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        var (endedAccess, endedRefresh) = await OpenKeySessionAsync(host, alice.Handle, key);
        var (keptAccess, keptRefresh) = await OpenKeySessionAsync(host, alice.Handle, key);
        // The lifetimes a PDS gives, by default: 2 hours and 90 days.
        static TimeSpan? LifetimeOf(string jwt) => Supervisor.Actors.Session.JwtClaims.TryRead(jwt, out _)?.Lifetime;
        Assert.Equal((TimeSpan.FromHours(2), TimeSpan.FromDays(90)), (LifetimeOf(keptAccess), LifetimeOf(keptRefresh)));

        using (var client = ClientWith(host, endedRefresh))
        using (var deleted = await client.PostAsync("/xrpc/com.atproto.server.deleteSession", null))
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);

        Assert.Equal((HttpStatusCode.BadRequest, "ExpiredToken"), await GetSessionAsync(host, endedAccess));
        Assert.Equal((HttpStatusCode.BadRequest, "ExpiredToken"), await RefreshAsync(host, endedRefresh));
        Assert.Equal(HttpStatusCode.OK, (await GetSessionAsync(host, keptAccess)).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetSessionAsync(host, key, $"/accounts/{alice.Did}/xrpc/com.atproto.server.getSession")).Status);
        Assert.Equal(HttpStatusCode.OK, (await RefreshAsync(host, keptRefresh)).Status);
        // The account's own session at its PDS goes on: the supervisor's session, not the PDS's, was ended.
        Assert.Equal(0, Pds.CallCount("com.atproto.server.deleteSession"));
    }

    [Fact]
    public async Task Revoking_a_key_ends_the_sessions_it_opened_from_the_next_request_on()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        var (id, key) = await IssueKeyAsync(host, alice.Did);
        var (access, refresh) = await OpenKeySessionAsync(host, alice.Handle, key);
        Assert.Equal(HttpStatusCode.OK, (await GetSessionAsync(host, access)).Status);

        using (var revoked = await host.Http.DeleteAsync($"/keys/{id}")) Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Equal((HttpStatusCode.BadRequest, "ExpiredToken"), await GetSessionAsync(host, access));
        Assert.Equal((HttpStatusCode.BadRequest, "ExpiredToken"), await RefreshAsync(host, refresh));
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetSessionAsync(host, key, $"/accounts/{alice.Did}/xrpc/com.atproto.server.getSession")).Status);

        // The audit trail names the credential behind each act: the admin's, the key's own for its session.
        using (var logout = await host.Http.DeleteAsync($"/accounts/{alice.Did}")) Assert.True(logout.IsSuccessStatusCode);
        var expected = new Dictionary<string, string> { ["KeyIssued"] = "admin", ["KeySessionOpened"] = $"key:{id}", ["KeyRevoked"] = "admin", ["LoggedOut"] = "admin" };
        Dictionary<string, string?> credentials = new();
        for (var i = 0; i < 50 && credentials.Count < expected.Count; i++, await Task.Delay(100))
            credentials = (await host.Http.GetFromJsonAsync<JsonElement>("/audit")).EnumerateArray()
                .Where(e => e.GetProperty("account").GetString() == alice.Did && expected.ContainsKey(e.GetProperty("action").GetString()!))
                .GroupBy(e => e.GetProperty("action").GetString()!).ToDictionary(g => g.Key, g => g.First().GetProperty("credential").GetString());
        Assert.Equal(expected.OrderBy(e => e.Key), credentials.OrderBy(e => e.Key)!);
    }

    [Fact]
    public async Task A_key_that_expires_ends_by_itself_and_its_sessions_with_it()
    {
        await using var host = await StartHostAsync();
        var bob = await LoggedInAsync(host, "bob.test");
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(6);
        var (_, key) = await IssueKeyAsync(host, bob.Did, expiresAt);
        var (access, refresh) = await OpenKeySessionAsync(host, bob.Handle, key);
        // The session lives no longer than its key.
        Assert.True(Supervisor.Actors.Session.JwtClaims.TryRead(refresh, out _)!.ExpiresAt <= expiresAt.AddSeconds(1), "the refresh token outlives its key");
        Assert.Equal(HttpStatusCode.OK, (await GetSessionAsync(host, key, $"/accounts/{bob.Did}/xrpc/com.atproto.server.getSession")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetSessionAsync(host, access)).Status);

        await Task.Delay(expiresAt - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetSessionAsync(host, key, $"/accounts/{bob.Did}/xrpc/com.atproto.server.getSession")).Status);
        Assert.Equal((HttpStatusCode.BadRequest, "ExpiredToken"), await GetSessionAsync(host, access));
        Assert.Equal((HttpStatusCode.BadRequest, "ExpiredToken"), await RefreshAsync(host, refresh));
    }

    [Fact]
    public async Task A_key_sessions_access_token_ends_at_its_own_lifetime_and_the_refresh_token_gets_a_new_one()
    {
        await using var host = await StartHostAsync("supervisor.proxy.session-access-lifetime = 4s");
        var carol = await LoggedInAsync(host, "carol.test");
        var (_, key) = await IssueKeyAsync(host, carol.Did);
        var (access, refresh) = await OpenKeySessionAsync(host, carol.Handle, key);
        Assert.Equal(HttpStatusCode.OK, (await GetSessionAsync(host, access)).Status);

        await Task.Delay(TimeSpan.FromSeconds(5));
        Assert.Equal((HttpStatusCode.BadRequest, "ExpiredToken"), await GetSessionAsync(host, access));
        Assert.Equal((HttpStatusCode.OK, null), await RefreshAsync(host, refresh));
    }

    [Fact]
    public async Task Every_privileged_method_is_refused_to_a_key_not_issued_with_it_and_never_reaches_the_PDS()
    {
        // The README's list (the shipped configuration must hold every one; it may hold more, and those are tried too).
        string[] named =
        [
            "com.atproto.server.createAppPassword", "com.atproto.server.revokeAppPassword", "com.atproto.server.listAppPasswords",
            "com.atproto.server.deleteAccount", "com.atproto.server.deactivateAccount", "com.atproto.server.updateEmail",
            "com.atproto.server.getServiceAuth", "com.atproto.identity.updateHandle", "com.atproto.identity.requestPlcOperationSignature",
            "com.atproto.identity.signPlcOperation", "com.atproto.identity.submitPlcOperation", "com.atproto.server.activateAccount",
            "com.atproto.server.requestEmailConfirmation", "chat.bsky.convo.sendMessage", "chat.bsky.convo.getMessages",
            "chat.bsky.convo.listConvos", "chat.bsky.actor.deleteAccount", "chat.bsky.actor.exportAccountData",
            "com.atproto.repo.importRepo",
        ];
        var settings = ProxySettings.From(ConfigurationFactory.ParseString(
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "supervisor.conf"))).GetConfig("supervisor.proxy"));
        // (createAccount is privileged for the service tokens that name it; as a session method it is never passed on: a 400.)
        var shipped = settings.PrivilegedMethods.Where(m => !settings.SessionMethods.Contains(m));
        // Each in another case too: the reference PDS routes method names ignoring case.
        static string Capitalized(string m) => m[..(m.LastIndexOf('.') + 1)] + char.ToUpperInvariant(m[m.LastIndexOf('.') + 1]) + m[(m.LastIndexOf('.') + 2)..];
        // A namespace (chat.bsky.*) by a method under it that the list does not name.
        var privileged = named.Union(shipped.Select(m => m.EndsWith(".*", StringComparison.Ordinal) ? m[..^1] + "convo.methodToCome" : m))
            .SelectMany(m => new[] { m, Capitalized(m), m.ToUpperInvariant() }).ToList();
        await using var host = await StartHostAsync();
        var dave = await LoggedInAsync(host, "dave.test");
        var (_, key) = await IssueKeyAsync(host, dave.Did);
        var (access, _) = await OpenKeySessionAsync(host, dave.Handle, key);
        foreach (var method in privileged)
        {
            foreach (var (bearer, path) in new[] { (key, $"/accounts/{dave.Did}/xrpc/{method}"), (access, $"/xrpc/{method}") })
            {
                using var client = ClientWith(host, bearer);
                using var answer = method.Split('.')[^1].StartsWith("get", StringComparison.OrdinalIgnoreCase)
                    ? await client.GetAsync(path)
                    : await client.PostAsync(path, JsonContent.Create(new { }));
                Assert.True(answer.StatusCode == HttpStatusCode.Forbidden, $"{method} at {path} answered {(int)answer.StatusCode}");
            }
            Assert.Equal(0, Pds.CallCount(method) + Pds.CallCount(method.ToLowerInvariant()));
        }
    }

    [Fact]
    public async Task A_service_token_through_a_key_names_its_method_and_a_privileged_one_needs_the_key_issued_with_it_too()
    {
        await using var host = await StartHostAsync();
        var erin = await LoggedInAsync(host, "erin.test");
        const string GetServiceAuth = "com.atproto.server.getServiceAuth";
        var (_, minter) = await IssueKeyAsync(host, erin.Did, allow: [GetServiceAuth]);
        var (_, messenger) = await IssueKeyAsync(host, erin.Did, allow: [GetServiceAuth, "chat.bsky.*"]);
        async Task<HttpStatusCode> AskAsync(string key, string query)
        {
            using var client = ClientWith(host, key);
            using var answer = await client.GetAsync($"/accounts/{erin.Did}/xrpc/{GetServiceAuth}?aud=did:web:api.bsky.chat&{query}");
            return answer.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Forbidden, await AskAsync(minter, "lxm=chat.bsky.convo.sendMessage"));
        Assert.Equal(HttpStatusCode.Forbidden, await AskAsync(minter, "lxm=CHAT.BSKY.CONVO.ADDREACTION"));
        Assert.Equal(HttpStatusCode.Forbidden, await AskAsync(minter, "lxm=com.atproto.server.createAppPassword"));
        // The token a new PDS asks for when an account moves there (the reference PDS's privileged methods name it).
        Assert.Equal(HttpStatusCode.Forbidden, await AskAsync(minter, "lxm=com.atproto.server.createAccount"));
        // Only the names the PDS reads as they are checked here: no method (a token for every method), another spelling
        // of the name, or twice, is refused.
        foreach (var query in new[] { "exp=60", "lxm[]=chat.bsky.convo.sendMessage", "LXM=chat.bsky.convo.sendMessage",
                     "lxm=com.atproto.repo.uploadBlob&lxm=chat.bsky.convo.sendMessage", "lxm=com.atproto.repo.uploadBlob&other=1" })
            Assert.True(await AskAsync(minter, query) == HttpStatusCode.BadRequest, query);
        Assert.Equal(0, Pds.CallCount(GetServiceAuth));

        Assert.Equal(HttpStatusCode.OK, await AskAsync(minter, "lxm=com.atproto.repo.uploadBlob&exp=" + DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds()));
        Assert.Equal(HttpStatusCode.OK, await AskAsync(messenger, "lxm=chat.bsky.convo.sendMessage"));
        Assert.Equal(HttpStatusCode.OK, await AskAsync(messenger, "lxm=chat.bsky.convo.getMessages"));
        Assert.Equal(3, Pds.CallCount(GetServiceAuth));
    }
}
