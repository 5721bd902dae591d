using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Supervisor.Actors.Keys;
using Supervisor.Actors.Tests.RealPds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>Account keys: bound to one account, refused everywhere else, revocable, kept only as hashes, never logged.</summary>
[Collection(RealPdsCollection.Name)]
public sealed class AccountKeysSpec(RealPdsServer pds) : RealPdsHost(pds)
{
    [Fact]
    public async Task An_account_key_reaches_its_own_accounts_xrpc_and_nothing_else()
    {
        var alice = await AddAccountAsync("key");
        var bob = await AddAccountAsync("key");
        var (_, key) = await IssueKeyAsync(alice.Handle);
        using var client = ClientWith(key);

        using (var own = await client.GetAsync($"/accounts/{alice.Handle}/xrpc/com.atproto.server.getSession"))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
            Assert.Equal(alice.Did, (await own.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("did").GetString());
        }
        foreach (var (method, path) in new[]
                 {
                     // Another account, by DID or handle, and accounts that do not exist: the same answer, nothing learnt.
                     (HttpMethod.Get, $"/accounts/{bob.Did}/xrpc/com.atproto.server.getSession"),
                     (HttpMethod.Get, $"/accounts/{bob.Handle}/xrpc/com.atproto.server.getSession"),
                     (HttpMethod.Get, "/accounts/did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/xrpc/com.atproto.server.getSession"),
                     (HttpMethod.Get, "/accounts/nobody.test/xrpc/com.atproto.server.getSession"),
                     (HttpMethod.Get, $"/accounts/{alice.Did}/session"), (HttpMethod.Get, $"/accounts/{alice.Did}"), (HttpMethod.Get, "/accounts"),
                     (HttpMethod.Get, "/status"), (HttpMethod.Get, "/keys"), (HttpMethod.Get, "/audit"), (HttpMethod.Get, "/"),
                     (HttpMethod.Delete, $"/accounts/{alice.Did}"), (HttpMethod.Post, $"/accounts/{alice.Did}/refresh"), (HttpMethod.Post, "/keys"),
                 })
        {
            using var request = new HttpRequestMessage(method, path);
            if (method == HttpMethod.Post) request.Content = JsonContent.Create(new { account = alice.Did });
            using var refused = await client.SendAsync(request);
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} answered {refused.StatusCode}");
            Assert.Equal("Forbidden", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
        // Nothing was done on alice's behalf: she is still logged in and has not refreshed.
        var status = await Host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{alice.Did}");
        Assert.Equal(("Active", 0), (status.GetProperty("state").GetString(), status.GetProperty("refreshCount").GetInt32()));
    }

    [Fact]
    public async Task Privileged_methods_need_a_key_issued_with_them_whatever_the_case_of_their_names()
    {
        var carol = await AddAccountAsync("prv");
        var (_, plain) = await IssueKeyAsync(carol.Did);
        var (_, trusted) = await IssueKeyAsync(carol.Did, "com.atproto.server.createAppPassword");
        // The reference PDS routes method names ignoring case: another case of the name runs the method there.
        await Pds.CreateAppPasswordAsync(carol.AccessJwt, "direct", "com.atproto.server.CreateAppPassword");
        foreach (var name in new[] { "com.atproto.server.createAppPassword", "com.atproto.server.CreateAppPassword", "COM.ATPROTO.SERVER.CREATEAPPPASSWORD" })
        {
            using var refused = await ClientWith(plain).PostAsync($"/accounts/{carol.Did}/xrpc/{name}", JsonContent.Create(new { name = "from-a-key" }));
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{name} answered {(int)refused.StatusCode}");
        }
        using (var allowed = await ClientWith(trusted).PostAsync($"/accounts/{carol.Did}/xrpc/com.atproto.server.createAppPassword", JsonContent.Create(new { name = "from-a-key" })))
        {
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
            Assert.Equal("from-a-key", (await allowed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
        }
        using var unknown = await Host.Http.PostAsJsonAsync("/keys", new { account = carol.Did, allow = new[] { "com.atproto.repo.createRecord" } });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        // chat.bsky.* takes any name under it: not any number of them, nor names longer than an NSID.
        var many = Enumerable.Range(0, Supervisor.Host.Http.KeysApi.MaxAllowed + 1).Select(i => $"chat.bsky.convo.m{i}").ToArray();
        using (var tooMany = await Host.Http.PostAsJsonAsync("/keys", new { account = carol.Did, allow = many }))
            Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        using (var tooLong = await Host.Http.PostAsJsonAsync("/keys", new { account = carol.Did, allow = new[] { "chat.bsky.convo." + new string('m', Supervisor.Host.Http.KeysApi.MaxNsid) } }))
            Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        using (var enough = await Host.Http.PostAsJsonAsync("/keys", new { account = carol.Did, allow = many[..Supervisor.Host.Http.KeysApi.MaxAllowed] }))
            Assert.Equal(HttpStatusCode.Created, enough.StatusCode);
        // A key's name is a label (journaled, copied to every node, listed), not a document.
        var keys = await Host.Http.GetStringAsync("/keys");
        using var named = await Host.Http.PostAsJsonAsync("/keys", new { account = carol.Did, name = new string('n', Supervisor.Host.Http.KeysApi.MaxKeyName + 1) });
        Assert.Equal(HttpStatusCode.BadRequest, named.StatusCode);
        Assert.Equal(keys, await Host.Http.GetStringAsync("/keys"));
    }

    [Fact]
    public async Task A_revoked_key_is_refused_from_the_next_request_on_and_keys_survive_a_restart_as_hashes_only()
    {
        var dave = await AddAccountAsync("rev");
        var (id, key) = await IssueKeyAsync(dave.Did);
        var (keptId, kept) = await IssueKeyAsync(dave.Did);
        using var client = ClientWith(key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/accounts/{dave.Did}/xrpc/com.atproto.server.getSession")).StatusCode);
        using (var revoked = await Host.Http.DeleteAsync($"/keys/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
            Assert.True((await revoked.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("revokedAt", out _));
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync($"/accounts/{dave.Did}/xrpc/com.atproto.server.getSession")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Host.Http.DeleteAsync("/keys/0000000000000000")).StatusCode);

        // The listing shows neither key nor hash.
        var listing = await Host.Http.GetStringAsync("/keys");
        Assert.Contains(id, listing);
        Assert.DoesNotContain(key, listing);
        Assert.DoesNotContain(AccountKey.Hash(SecretOf(key)), listing);

        await Host.KillAsync();
        await Host.StartAsync();
        using var afterRestart = ClientWith(kept);
        Assert.Equal(HttpStatusCode.OK, (await afterRestart.GetAsync($"/accounts/{dave.Did}/xrpc/com.atproto.server.getSession")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync($"/accounts/{dave.Did}/xrpc/com.atproto.server.getSession")).StatusCode);
        // Its use is recorded (journaled in the background, at most once a minute).
        var used = false;
        for (var i = 0; i < 50 && !used; i++, await Task.Delay(100))
            used = (await Host.Http.GetFromJsonAsync<JsonElement>("/keys")).EnumerateArray().Any(k => k.GetProperty("id").GetString() == keptId && k.TryGetProperty("lastUsedAt", out _));
        Assert.True(used, "the key's last use is recorded");

        // At rest: the hash of each secret, never a key. In the logs: never a key.
        var journal = string.Join("\n", JournalRows.ReadEverything(Folder).Select(r => r.Payload));
        Assert.Contains(AccountKey.Hash(SecretOf(kept)), journal);
        foreach (var secret in new[] { key, kept }.Select(SecretOf))
        {
            Assert.DoesNotContain(secret, journal);
            Assert.DoesNotContain(secret, Host.Output);
            Assert.DoesNotContain(secret, File.ReadAllText(Host.LogFile));
        }

        // The audit trail says who issued, revoked and exported, without secrets.
        await Host.Http.GetAsync($"/accounts/{dave.Did}/session");
        var audit = await Host.Http.GetStringAsync("/audit");
        foreach (var action in new[] { "KeyIssued", "KeyRevoked", "SessionExported" }) Assert.Contains(action, audit);
        Assert.Empty(Secrets.JwtsIn(audit));
        Assert.DoesNotContain(key, audit);
    }

    [Fact]
    public async Task A_key_logs_in_at_the_supervisors_xrpc_and_gets_tokens_of_its_own_that_refresh_and_end_as_at_a_PDS()
    {
        var erin = await AddAccountAsync("pds");
        var (_, key) = await IssueKeyAsync(erin.Did);
        using var anonymous = ClientWith(null);
        using (var wrong = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = erin.Handle, password = key + "x" }))
            Assert.Equal((HttpStatusCode.Unauthorized, "AuthenticationRequired"), (wrong.StatusCode, await ErrorOf(wrong)));
        var other = await AddAccountAsync("pds");
        using (var elsewhere = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = other.Handle, password = key }))
            Assert.Equal(HttpStatusCode.Unauthorized, elsewhere.StatusCode);
        using (var otherEmail = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = other.Email, password = key }))
            Assert.Equal(HttpStatusCode.Unauthorized, otherEmail.StatusCode);
        // As at the PDS, the account's e-mail (in any case) is an identifier too.
        // As at the PDS, only a JSON body: a page's cross-site text/plain POST (the right key in it) is refused unread; and a small one.
        using (var plain = await anonymous.PostAsync("/xrpc/com.atproto.server.createSession",
                   new StringContent($$"""{"identifier":"{{erin.Handle}}","password":"{{key}}"}""", System.Text.Encoding.UTF8, "text/plain")))
            Assert.Equal((HttpStatusCode.BadRequest, "InvalidRequest"), (plain.StatusCode, await ErrorOf(plain)));
        using (var large = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = erin.Handle, password = key, pad = new string('x', 20_000) }))
            Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "PayloadTooLarge"), (large.StatusCode, await ErrorOf(large)));
        using (var byEmail = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = erin.Email.ToUpperInvariant(), password = key }))
        {
            Assert.Equal(HttpStatusCode.OK, byEmail.StatusCode);
            Assert.Equal(erin.Did, (await byEmail.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("did").GetString());
        }

        using var login = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = erin.Handle, password = key });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.True(login.Headers.CacheControl?.NoStore);
        var session = await login.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((erin.Did, erin.Handle), (session.GetProperty("did").GetString(), session.GetProperty("handle").GetString()));
        Assert.False(session.TryGetProperty("didDoc", out _), "a DID document would lead clients to the PDS, around the supervisor");
        // The e-mail fields are the PDS's, as its own createSession has them.
        Assert.Equal((erin.Email, JsonValueKind.False), (session.GetProperty("email").GetString(), session.GetProperty("emailConfirmed").ValueKind));
        var (access, refresh) = (session.GetProperty("accessJwt").GetString()!, session.GetProperty("refreshJwt").GetString()!);

        // They are the supervisor's, not the PDS's: the PDS does not take them.
        using (var atPds = new HttpClient())
        {
            atPds.DefaultRequestHeaders.Authorization = new("Bearer", access);
            using var refusedByPds = await atPds.GetAsync($"{Pds.Url}/xrpc/com.atproto.server.getSession");
            Assert.Equal(HttpStatusCode.BadRequest, refusedByPds.StatusCode);
        }
        using var agent = ClientWith(access);
        using (var own = await agent.GetAsync("/xrpc/com.atproto.server.getSession"))
        {
            var body = await own.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(erin.Did, body.GetProperty("did").GetString());
            Assert.False(body.TryGetProperty("didDoc", out _));
        }
        var record = $$$"""{"repo":"{{{erin.Did}}}","collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post","text":"by key","createdAt":"2026-12-02T00:00:00Z"}}""";
        using (var created = await agent.PostAsync("/xrpc/com.atproto.repo.createRecord", new StringContent(record, Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        using (var wrongType = await ClientWith(refresh).GetAsync("/xrpc/com.atproto.server.getSession"))
            Assert.Equal((HttpStatusCode.BadRequest, "InvalidToken"), (wrongType.StatusCode, await ErrorOf(wrongType)));
        using (var missing = await anonymous.GetAsync("/xrpc/com.atproto.server.getSession"))
            Assert.Equal((HttpStatusCode.Unauthorized, "AuthMissing"), (missing.StatusCode, await ErrorOf(missing)));
        using (var garbage = await ClientWith("abc").GetAsync("/xrpc/com.atproto.server.getSession"))
            Assert.Equal((HttpStatusCode.BadRequest, "InvalidToken"), (garbage.StatusCode, await ErrorOf(garbage)));

        // Refresh rotates; the old refresh token within its grace gets the same successor; deleteSession ends the session.
        var first = await RefreshAsync(refresh);
        Assert.Equal(erin.Email, first.Email);
        var again = await RefreshAsync(refresh);
        Assert.Equal(JtiOf(first.Refresh), JtiOf(again.Refresh));
        Assert.NotEqual(JtiOf(refresh), JtiOf(first.Refresh));
        using (var deleted = await ClientWith(first.Refresh).PostAsync("/xrpc/com.atproto.server.deleteSession", null))
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        using (var ended = await ClientWith(first.Refresh).PostAsync("/xrpc/com.atproto.server.refreshSession", null))
            Assert.Equal((HttpStatusCode.BadRequest, "ExpiredToken"), (ended.StatusCode, await ErrorOf(ended)));
        using (var endedAccess = await ClientWith(first.Access).GetAsync("/xrpc/com.atproto.server.getSession"))
            Assert.Equal((HttpStatusCode.BadRequest, "ExpiredToken"), (endedAccess.StatusCode, await ErrorOf(endedAccess)));
        // The account's own session at the PDS was never touched.
        var status = await Host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{erin.Did}");
        Assert.Equal("Active", status.GetProperty("state").GetString());
    }

    /// <summary>Refreshes a key session: its tokens and its email.</summary>
    private async Task<(string Access, string Refresh, string? Email)> RefreshAsync(string refresh)
    {
        using var answer = await ClientWith(refresh).PostAsync("/xrpc/com.atproto.server.refreshSession", null);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        var email = body.TryGetProperty("email", out var address) ? address.GetString() : null;
        return (body.GetProperty("accessJwt").GetString()!, body.GetProperty("refreshJwt").GetString()!, email);
    }

    /// <summary>The secret part of a key (<c>sk_&lt;16 hex&gt;_&lt;secret&gt;</c>; the secret may itself hold '_').</summary>
    private static string SecretOf(string key) => AccountKey.TryParse(key, out _, out var secret) ? secret : throw new ArgumentException("not a key");

    private static string? JtiOf(string jwt) => Supervisor.Actors.Session.JwtClaims.TryRead(jwt, out _)?.TokenId;

    private static async Task<string?> ErrorOf(HttpResponseMessage answer) =>
        (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString();
}
