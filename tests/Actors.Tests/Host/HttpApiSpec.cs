using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Supervisor.Actors.Tests.RealPds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The HTTP API end to end: the host as a process, as in production, against the real PDS.</summary>
[Collection(RealPdsCollection.Name)]
public sealed class HttpApiSpec(RealPdsServer pds) : IAsyncLifetime
{
    private readonly TestJournal _folder = new();
    private SupervisorProcess _host = null!;
    private readonly List<string> _answers = [];

    public async Task InitializeAsync()
    {
        _host = new SupervisorProcess(_folder.Folder).VerifyingIdentitiesAtTheRealPds();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, object? body = null, string? raw = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (raw is not null) request.Content = new StringContent(raw, Encoding.UTF8, "application/json");
        using var answer = await _host.Http.SendAsync(request);
        var text = await answer.Content.ReadAsStringAsync();
        _answers.Add(text);
        return (answer.StatusCode, text.Length > 0 && text[0] is '{' or '[' ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    [Fact]
    public async Task Every_endpoint_but_health_and_metrics_requires_the_admin_token()
    {
        using var anonymous = new HttpClient { BaseAddress = _host.Http.BaseAddress };
        // Every route, with a body it would otherwise act on: the admin token's client gets other answers.
        var unreachable = new { identifier = "a.test", password = "x", service = "http://127.0.0.1:1" };
        var routes = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Get, "/", null), (HttpMethod.Get, "/status", null), (HttpMethod.Get, "/accounts", null),
            (HttpMethod.Get, "/accounts/x", null), (HttpMethod.Get, "/accounts/x/session", null),
            (HttpMethod.Get, "/accounts/x/xrpc/com.atproto.server.getSession", null),
            (HttpMethod.Post, "/accounts", unreachable), (HttpMethod.Post, "/accounts/import", new { session = "garbage:::x" }),
            (HttpMethod.Post, "/accounts/create", new { handle = "a.test", email = "a@example.com", password = "x", service = "http://127.0.0.1:1" }),
            (HttpMethod.Post, "/accounts/x/refresh", null), (HttpMethod.Post, "/accounts/x/xrpc/com.atproto.repo.createRecord", new { repo = "x" }),
            (HttpMethod.Delete, "/accounts/x", null),
        };
        foreach (var token in new[] { null, _host.AdminToken + "x" })
        {
            anonymous.DefaultRequestHeaders.Authorization = token is null ? null : new("Bearer", token);
            foreach (var (method, path, body) in routes)
            {
                using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
                using var answer = await anonymous.SendAsync(request);
                Assert.True(answer.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} without the admin token: {(int)answer.StatusCode}");
            }
        }
        foreach (var (method, path, body) in routes.Where(r => r.Method != HttpMethod.Get))
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            using var answer = await _host.Http.SendAsync(request);
            Assert.True(answer.StatusCode != HttpStatusCode.Unauthorized, $"{method} {path} with the admin token: {(int)answer.StatusCode}");
        }
        Assert.Equal(0, (await _host.Http.GetFromJsonAsync<JsonElement>("/accounts")).GetProperty("accounts").GetArrayLength());
        anonymous.DefaultRequestHeaders.Authorization = null;
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task Accounts_are_added_used_exported_and_logged_out_and_only_the_export_shows_tokens()
    {
        var alice = await pds.CreateAccountAsync("h");
        var (status, body) = await SendAsync(HttpMethod.Post, "/accounts", new { identifier = alice.Handle, password = alice.Password, service = pds.Url });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(alice.Did, body.GetProperty("did").GetString());
        Assert.Equal("Active", body.GetProperty("state").GetString());
        Assert.Equal("com.atproto.access", body.GetProperty("scope").GetString());

        (status, body) = await SendAsync(HttpMethod.Post, "/accounts", new { identifier = alice.Handle, password = "wrong", service = pds.Url });
        Assert.Equal((HttpStatusCode.Unauthorized, "AuthenticationRequired"), (status, body.GetProperty("error").GetString()));

        var bob = await pds.CreateAccountAsync("h");
        (status, _) = await SendAsync(HttpMethod.Post, "/accounts/import", new { session = bob.SessionString(pds.Url) });
        Assert.Equal(HttpStatusCode.Created, status);
        var carol = await pds.CreateAccountAsync("h");
        (status, _) = await SendAsync(HttpMethod.Post, "/accounts/import", new
        {
            session = new { accessJwt = carol.AccessJwt, refreshJwt = carol.RefreshJwt, did = carol.Did, handle = carol.Handle, service = pds.Url },
        });
        Assert.Equal(HttpStatusCode.Created, status);
        var dave = RealPdsServer.NewHandle("h");
        (status, _) = await SendAsync(HttpMethod.Post, "/accounts/create", new { handle = dave, email = dave.Split('.')[0] + "@example.com", password = TestSecrets.Password("pw-dave-1"), service = pds.Url });
        Assert.Equal(HttpStatusCode.Created, status);

        (status, body) = await SendAsync(HttpMethod.Get, "/accounts");
        Assert.Equal(4, body.GetProperty("accounts").GetArrayLength());
        Assert.False(body.TryGetProperty("cursor", out _), "one page holds them all");
        (status, body) = await SendAsync(HttpMethod.Get, $"/accounts/{alice.Handle}/xrpc/com.atproto.server.getSession");
        Assert.Equal((HttpStatusCode.OK, alice.Did), (status, body.GetProperty("did").GetString()));
        (status, body) = await SendAsync(HttpMethod.Post, $"/accounts/{bob.Did}/xrpc/com.atproto.repo.createRecord", raw:
            $$$"""{"repo":"{{{bob.Did}}}","collection":"app.bsky.feed.post","record":{"$type":"app.bsky.feed.post","text":"via the supervisor","createdAt":"2026-11-24T00:00:00Z"}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith($"at://{bob.Did}/app.bsky.feed.post/", body.GetProperty("uri").GetString());
        var uri = body.GetProperty("uri").GetString()!;
        // The query string reaches the PDS: the record just written is read back by its key.
        (status, body) = await SendAsync(HttpMethod.Get, $"/accounts/{bob.Did}/xrpc/com.atproto.repo.getRecord?repo={bob.Did}&collection=app.bsky.feed.post&rkey={uri.Split('/')[^1]}");
        Assert.Equal((HttpStatusCode.OK, uri), (status, body.GetProperty("uri").GetString()));
        Assert.Equal("via the supervisor", body.GetProperty("value").GetProperty("text").GetString());
        (status, body) = await SendAsync(HttpMethod.Get, $"/accounts/{bob.Did}/xrpc/com.atproto.repo.getRecord?repo={bob.Did}&collection=app.bsky.feed.post&rkey=nope");
        Assert.Equal((HttpStatusCode.BadRequest, "RecordNotFound"), (status, body.GetProperty("error").GetString()));

        (status, body) = await SendAsync(HttpMethod.Get, "/status");
        Assert.Equal(4, body.GetProperty("byState").GetProperty("Active").GetInt32());
        Assert.Equal((4, 0), (body.GetProperty("running").GetInt32(), body.GetProperty("passivated").GetInt32()));
        Assert.Equal("Available", body.GetProperty("journal").GetProperty("state").GetString());
        // A host alone is a cluster of one: itself, Up.
        var cluster = body.GetProperty("cluster");
        var member = Assert.Single(cluster.GetProperty("members").EnumerateArray());
        Assert.Equal((cluster.GetProperty("self").GetString(), "Up"), (member.GetProperty("address").GetString(), member.GetProperty("status").GetString()));
        Assert.Empty(cluster.GetProperty("unreachable").EnumerateArray());
        Assert.Equal(cluster.GetProperty("self").GetString(), cluster.GetProperty("leader").GetString());
        Assert.Equal(cluster.GetProperty("self").GetString(), cluster.GetProperty("oldest").GetString());
        using (var page = await _host.Http.GetAsync("/"))
        {
            var html = await page.Content.ReadAsStringAsync();
            _answers.Add(html);
            Assert.Contains(alice.Handle, html);
            Assert.DoesNotContain("<script", html);
        }
        var metrics = await PrometheusScrape.ReadAsync(_host);
        Assert.Equal(4, metrics.Value("supervisor_accounts", ("state", "Active")));
        Assert.Equal(2, metrics.Value("supervisor_logins_total"));
        Assert.Equal(1, metrics.Value("supervisor_journal_available"));
        Assert.Equal(4, metrics.Value("supervisor_accounts_running"));

        using (var export = await _host.Http.GetAsync($"/accounts/{alice.Did}/session?format=json"))
        {
            var data = JsonDocument.Parse(await export.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(pds.Url, data.GetProperty("service").GetString());
            Assert.NotEmpty(Secrets.JwtsIn(data.GetProperty("accessJwt").GetString()!));
        }
        var python = await _host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{alice.Did}/session?format=python");
        Assert.Equal(5, python.GetProperty("session").GetString()!.Split(":::").Length);

        (status, body) = await SendAsync(HttpMethod.Delete, $"/accounts/{alice.Handle}");
        Assert.Equal((HttpStatusCode.OK, "LoggedOut"), (status, body.GetProperty("state").GetString()));
        (status, body) = await SendAsync(HttpMethod.Get, $"/accounts/{alice.Handle}/xrpc/com.atproto.server.getSession");
        Assert.Equal((HttpStatusCode.Conflict, "LoggedOut"), (status, body.GetProperty("error").GetString()));
        (status, body) = await SendAsync(HttpMethod.Get, $"/accounts/{alice.Did}");
        Assert.Equal((HttpStatusCode.OK, "LoggedOut", 1), (status, body.GetProperty("state").GetString(), body.GetProperty("loginCount").GetInt32()));
        Assert.All(_answers, a => Assert.Empty(Secrets.JwtsIn(a)));

        Assert.Empty(Secrets.JwtsIn(_host.Output));
        foreach (var password in new[] { alice.Password, "pw-dave-1" }) Assert.DoesNotContain(password, _host.Output);

        // The JSON log: structured events with named properties, Akka's own lines among them, no secret.
        var events = File.ReadAllLines(_host.LogFile).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Contains(events, e => e.TryGetProperty("Did", out var d) && d.GetString() == alice.Did && e.GetProperty("@mt").GetString()!.Contains("{Did}"));
        Assert.Contains(events, e => e.TryGetProperty("ActorPath", out var path) && path.GetString()!.Contains("/user/accounts"));
        var logText = File.ReadAllText(_host.LogFile);
        Assert.Empty(Secrets.JwtsIn(logText));
        Assert.DoesNotContain(alice.Password, logText);
    }

    [Fact]
    public async Task Bad_input_is_answered_cleanly()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/accounts", raw: "{not json");
        Assert.Equal((HttpStatusCode.BadRequest, "InvalidRequest"), (status, body.GetProperty("error").GetString()));
        (status, body) = await SendAsync(HttpMethod.Post, "/accounts", raw: "[1]");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        (status, body) = await SendAsync(HttpMethod.Post, "/accounts", new { identifier = "a", password = "b" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("service", body.GetProperty("message").GetString());
        (status, body) = await SendAsync(HttpMethod.Post, "/accounts/import", new { session = "garbage:::x" });
        Assert.Equal((HttpStatusCode.BadRequest, "InvalidSession"), (status, body.GetProperty("error").GetString()));
        (status, body) = await SendAsync(HttpMethod.Get, "/accounts/nobody.test");
        Assert.Equal((HttpStatusCode.NotFound, "AccountNotFound"), (status, body.GetProperty("error").GetString()));
        (status, _) = await SendAsync(HttpMethod.Get, "/accounts/nobody.test/xrpc/not-an-nsid");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        (status, _) = await SendAsync(HttpMethod.Get, "/accounts/nobody.test/session?format=xml");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        foreach (var (method, path) in new[]
                 {
                     (HttpMethod.Get, "/accounts/nobody.test/session"), (HttpMethod.Delete, "/accounts/nobody.test"),
                     (HttpMethod.Get, "/accounts/nobody.test/xrpc/com.atproto.server.getSession"), (HttpMethod.Post, "/accounts/did:plc:nobody/refresh"),
                 })
        {
            (status, body) = await SendAsync(method, path);
            Assert.Equal((HttpStatusCode.NotFound, "AccountNotFound"), (status, body.GetProperty("error").GetString()));
        }
        // More than the 1 MiB a request may carry: refused before it is read.
        (status, _) = await SendAsync(HttpMethod.Post, "/accounts/import", raw: $$"""{"session":"{{new string('a', 2 * 1024 * 1024)}}"}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        (status, body) = await SendAsync(HttpMethod.Post, "/accounts", new { identifier = "a", password = "b", service = "http://127.0.0.1:1" });
        Assert.Equal((HttpStatusCode.BadGateway, "NetworkError"), (status, body.GetProperty("error").GetString()));
    }
}
