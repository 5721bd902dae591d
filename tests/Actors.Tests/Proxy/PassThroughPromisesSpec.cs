using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>
/// The README's promises of the pass-through (<c>/accounts/{id}/xrpc/{nsid}</c>), each seen at the fake PDS or in the
/// answer: the request headers by allow-list with the account's own bearer, no session method passed on, a malformed
/// Content-Type refused, a 2xx HTML page outside com.atproto.sync answered 502, the PDS's caching headers kept, a refused
/// token refreshed (a buffered body sent once more as it was, an upload's refusal passed back), importRepo taken as an
/// upload.
/// </summary>
public sealed class PassThroughPromisesSpec : FakePdsHostSpec
{
    private const string Timeline = "app.bsky.feed.getTimeline";
    private const string CreateRecord = "com.atproto.repo.createRecord";
    private const string RefreshSession = "com.atproto.server.refreshSession";
    private static readonly byte[] Feed = """{"feed":[]}"""u8.ToArray();

    [Fact]
    public async Task Only_the_allowed_request_headers_reach_the_PDS_with_the_accounts_own_bearer()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        Pds.AnswerWith(Timeline, Feed, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{Timeline}?limit=1");
        var allowed = new Dictionary<string, string>
        {
            ["atproto-proxy"] = "did:web:api.bsky.app#bsky_appview", ["atproto-accept-labelers"] = "did:plc:ar7c4by46qjdydhdevvrndac;redact",
            ["x-bsky-topics"] = "dev", ["accept-language"] = "de, en;q=0.5", ["if-none-match"] = "\"rev-1\"",
        };
        foreach (var (name, value) in allowed) request.Headers.TryAddWithoutValidation(name, value);
        foreach (var (name, value) in new[]
                 {
                     ("Cookie", "session=the-callers"), ("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Host", "evil.example"),
                     ("Forwarded", "for=203.0.113.9"), ("X-Caller-Secret", "not-for-the-pds"), ("Connection", "X-Caller-Secret"),
                 })
            request.Headers.TryAddWithoutValidation(name, value);
        using var answer = await host.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(Feed, await answer.Content.ReadAsByteArrayAsync());

        var seen = Pds.LastRequestHeaders(Timeline)!;
        foreach (var (name, value) in allowed) Assert.Equal(value, seen.GetValueOrDefault(name));
        foreach (var name in new[] { "cookie", "x-forwarded-for", "x-forwarded-host", "forwarded", "x-caller-secret" })
            Assert.False(seen.ContainsKey(name), $"{name} reached the PDS");
        Assert.Equal(new Uri(Pds.Url).Authority, seen["host"]);
        // The bearer is the account's access token (its own DID), never the caller's credential.
        // Checked without printing either on a failure (the suite's output must hold no token).
        var bearer = seen["authorization"];
        Assert.True(bearer.StartsWith("Bearer ", StringComparison.Ordinal), "the PDS got no Bearer");
        Assert.Equal(alice.Did, JwtClaims.TryRead(bearer["Bearer ".Length..], out _)?.Subject);
        Assert.False(bearer.Contains(host.AdminToken, StringComparison.Ordinal), "the admin token reached the PDS");
    }

    [Fact]
    public async Task Session_methods_are_not_passed_on_and_a_malformed_content_type_is_a_400()
    {
        await using var host = await StartHostAsync();
        var bob = await LoggedInAsync(host, "bob.test");
        var before = Pds.CallsInAll;
        foreach (var method in new[]
                 {
                     "com.atproto.server.createSession", "com.atproto.server.refreshSession", "com.atproto.server.deleteSession", "com.atproto.server.createAccount",
                     // In any case, as the PDS routes them.
                     "com.atproto.server.CreateSession", "COM.ATPROTO.SERVER.REFRESHSESSION", "com.atproto.server.deletesession",
                 })
        {
            using var answer = await host.Http.PostAsync($"/accounts/{bob.Did}/xrpc/{method}", JsonContent.Create(new { identifier = bob.Handle }));
            Assert.True(answer.StatusCode == HttpStatusCode.BadRequest, $"{method} answered {(int)answer.StatusCode}");
            Assert.Contains("owns this account's session", await answer.Content.ReadAsStringAsync());
        }

        using var malformed = new StringContent("""{"repo":"x"}""", Encoding.UTF8);
        malformed.Headers.Remove("Content-Type");
        malformed.Headers.TryAddWithoutValidation("Content-Type", "json, please");
        using (var refused = await host.Http.PostAsync($"/accounts/{bob.Did}/xrpc/com.atproto.repo.createRecord", malformed))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("Content-Type", await refused.Content.ReadAsStringAsync());
        }
        Assert.Equal(before, Pds.CallsInAll);
    }

    [Fact]
    public async Task Only_the_allowed_answer_headers_come_back_as_the_PDS_sent_them_and_a_gzip_body_byte_for_byte()
    {
        await using var host = await StartHostAsync();
        var dora = await LoggedInAsync(host, "dora.test");
        var allowed = new Dictionary<string, string>
        {
            ["Content-Language"] = "de", ["atproto-content-labelers"] = "did:plc:ar7c4by46qjdydhdevvrndac", ["atproto-repo-rev"] = "3lbzxq2rgj22s",
            ["Atproto-Upstream-Lag"] = "12", ["RateLimit-Limit"] = "3000", ["RateLimit-Remaining"] = "2999", ["RateLimit-Reset"] = "1893456000",
            ["RateLimit-Policy"] = "3000;w=300", ["ETag"] = "\"rev-7\"", ["Last-Modified"] = "Wed, 02 Dec 2026 10:00:00 GMT",
            ["Expires"] = "Wed, 02 Dec 2026 10:01:00 GMT", ["Vary"] = "Accept-Encoding",
        };
        var refused = new Dictionary<string, string>
        {
            ["Set-Cookie"] = "pds_session=abc; HttpOnly", ["Access-Control-Allow-Origin"] = "*", ["X-Powered-By"] = "Express",
            ["Location"] = "https://evil.example/", ["Refresh"] = "0; url=https://evil.example/", ["Link"] = "<https://evil.example/x.css>; rel=stylesheet",
        };
        var gzipped = Gzip(Feed);
        Pds.AnswerWith(Timeline, gzipped, "application/json", new Dictionary<string, string>(allowed.Concat(refused))
        {
            ["Content-Encoding"] = "gzip", ["Cache-Control"] = "public, s-maxage=600, max-age=60",
        });
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/accounts/{dora.Did}/xrpc/{Timeline}");
        // zstd (and what * would let the PDS choose) the supervisor could not read in an error's head: not asked for.
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, zstd;q=0.9, *;q=0.1");
        using var answer = await host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var headers = answer.Headers.Concat(answer.Content.Headers).ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in allowed) Assert.True(headers.GetValueOrDefault(name) == value, $"{name}: {headers.GetValueOrDefault(name) ?? "missing"}");
        foreach (var name in refused.Keys) Assert.False(headers.ContainsKey(name), $"{name} came back from the PDS");
        Assert.Equal(CacheControlHeaderValue.Parse("private, max-age=60"), answer.Headers.CacheControl);
        Assert.Equal("gzip", headers["Content-Encoding"]);
        Assert.Equal(gzipped, await answer.Content.ReadAsByteArrayAsync()); // not decoded, not encoded again
        Assert.Equal("gzip", Pds.LastRequestHeaders(Timeline)!.GetValueOrDefault("accept-encoding"));
    }

    [Fact]
    public async Task An_upload_leaves_only_with_a_token_that_has_a_quarter_of_its_lifetime_left_a_query_with_the_one_there_is()
    {
        // The account's own refresh is due a second before expiry (a twentieth of 20 s): not at once after the query.
        await using var host = await StartHostAsync("supervisor.accounts.refresh-margin-fraction = 0.05");
        Pds.AccessTokenLifetime = TimeSpan.FromSeconds(20); // a quarter: 5 s
        var erin = await LoggedInAsync(host, "erin.test");
        var loggedIn = DateTimeOffset.UtcNow;
        var refreshes = Pds.CallCount(RefreshSession);

        // 16 s on, about 4 s left: a query goes with the token there is; an upload gets a fresh one first.
        await Task.Delay(loggedIn + TimeSpan.FromSeconds(16) - DateTimeOffset.UtcNow);
        using (var query = await host.Http.GetAsync($"/accounts/{erin.Did}/xrpc/com.atproto.server.getSession")) Assert.Equal(HttpStatusCode.OK, query.StatusCode);
        Assert.Equal(refreshes, Pds.CallCount(RefreshSession));

        const string UploadBlob = "com.atproto.repo.uploadBlob";
        using (var upload = await host.Http.PostAsync($"/accounts/{erin.Did}/xrpc/{UploadBlob}", new ByteArrayContent(new byte[50_000]) { Headers = { ContentType = new("image/png") } }))
            Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        Assert.Equal((1, refreshes + 1), (Pds.CallCount(UploadBlob), Pds.CallCount(RefreshSession)));
        var bearer = Pds.LastRequestHeaders(UploadBlob)!["authorization"]["Bearer ".Length..];
        var left = JwtClaims.TryRead(bearer, out _)!.ExpiresAt - DateTimeOffset.UtcNow;
        Assert.True(left > TimeSpan.FromSeconds(15), $"the upload left with {left.TotalSeconds:0.0} s of its token");
    }

    [Fact]
    public async Task A_3_MiB_importRepo_passes_as_an_upload_byte_for_byte_while_an_ordinary_procedure_of_that_size_gets_413()
    {
        await using var host = await StartHostAsync();
        var fay = await LoggedInAsync(host, "fay.test");
        var car = new byte[3 * 1024 * 1024];
        Random.Shared.NextBytes(car);

        // importRepo is an upload (upload-methods): up to upload-limit (5 MiB), streamed to the PDS as it came.
        using (var repo = new ByteArrayContent(car) { Headers = { ContentType = new("application/vnd.ipld.car") } })
        using (var imported = await host.Http.PostAsync($"/accounts/{fay.Did}/xrpc/com.atproto.repo.importRepo", repo))
            Assert.Equal(HttpStatusCode.OK, imported.StatusCode);
        var received = Assert.Single(Pds.ImportedRepos);
        Assert.True(car.AsSpan().SequenceEqual(received), $"the PDS received {received.Length} bytes, not the {car.Length} sent");
        Assert.Equal("application/vnd.ipld.car", Pds.LastRequestHeaders("com.atproto.repo.importRepo")!["content-type"]);

        // An ordinary procedure of the same size is past body-limit (1 MiB): refused, and the PDS never sees it.
        using (var applyWrites = new ByteArrayContent(car) { Headers = { ContentType = new("application/json") } })
        using (var tooLong = await host.Http.PostAsync($"/accounts/{fay.Did}/xrpc/com.atproto.repo.applyWrites", applyWrites))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLong.StatusCode);
            var body = await tooLong.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("PayloadTooLarge", body.GetProperty("error").GetString());
            Assert.Contains("1048576", body.GetProperty("message").GetString());
        }
        Assert.Equal(0, Pds.CallCount("com.atproto.repo.applyWrites"));
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Optimal)) gzip.Write(bytes);
        return buffer.ToArray();
    }

    [Fact]
    public async Task A_2xx_HTML_page_outside_sync_is_a_502_and_the_PDS_caching_headers_are_kept_made_private_else_no_store()
    {
        await using var host = await StartHostAsync();
        var carol = await LoggedInAsync(host, "carol.test");
        // Media types ignore case: Text/HTML is a page too.
        foreach (var html in new[] { "text/html", "Text/HTML" })
        {
            Pds.AnswerWith(Timeline, "<html><body>Sign in to the Wi-Fi</body></html>"u8.ToArray(), html);
            using var portal = await host.Http.GetAsync($"/accounts/{carol.Did}/xrpc/{Timeline}");
            Assert.Equal(HttpStatusCode.BadGateway, portal.StatusCode);
            Assert.Equal("InvalidResponse", (await portal.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }

        Pds.AnswerWith(Timeline, Feed, "application/json", new Dictionary<string, string> { ["Cache-Control"] = "public, max-age=60" });
        using (var cached = await host.Http.GetAsync($"/accounts/{carol.Did}/xrpc/{Timeline}"))
        {
            Assert.Equal(HttpStatusCode.OK, cached.StatusCode);
            // Made private: every account's clients ask the same URL, and a shared cache in front must not serve one's to another.
            Assert.Equal(CacheControlHeaderValue.Parse("private, max-age=60"), cached.Headers.CacheControl);
        }
        Pds.AnswerWith(Timeline, Feed, "application/json");
        using (var plain = await host.Http.GetAsync($"/accounts/{carol.Did}/xrpc/{Timeline}"))
        {
            Assert.Equal(CacheControlHeaderValue.Parse("no-store"), plain.Headers.CacheControl);
            Assert.Equal("no-referrer", plain.Headers.GetValues("Referrer-Policy").Single());
            Assert.Equal("DENY", plain.Headers.GetValues("X-Frame-Options").Single());
        }
    }

    [Fact]
    public async Task An_answer_a_browser_could_run_as_a_document_or_an_untyped_one_is_an_attachment_and_no_other_is()
    {
        const string Blob = "com.atproto.sync.getBlob"; // a sync method: a 2xx page of its is passed on, as a blob
        await using var host = await StartHostAsync();
        var dave = await LoggedInAsync(host, "dave.test");
        var body = "<?xml version=\"1.0\"?><doc><p>a blob</p></doc>"u8.ToArray();
        string?[] documents =
        [
            "text/html", "Text/HTML; charset=utf-8", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml",
            "text/xsl", "application/pdf", null,
        ];
        string[] others = ["application/json", "image/png", "image/jpeg", "application/octet-stream", "application/vnd.ipld.car", "text/plain"];
        foreach (var type in documents.Concat(others))
        {
            Pds.AnswerWith(Blob, body, type);
            using var answer = await host.Http.GetAsync($"/accounts/{dave.Did}/xrpc/{Blob}?did={dave.Did}&cid=bafkreiblob");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal(body, await answer.Content.ReadAsByteArrayAsync());
            Assert.Equal(type is null ? null : MediaTypeHeaderValue.Parse(type), answer.Content.Headers.ContentType);
            var disposition = answer.Content.Headers.ContentDisposition?.DispositionType;
            Assert.True((documents.Contains(type) ? "attachment" : null) == disposition, $"{type ?? "no type"}: Content-Disposition {disposition ?? "none"}");
            Assert.Equal("nosniff", answer.Headers.GetValues("X-Content-Type-Options").Single());
        }
    }

    [Fact]
    public async Task A_refused_token_is_refreshed_and_a_buffered_body_sent_once_more_byte_for_byte_while_an_upload_gets_the_refusal_back()
    {
        await using var host = await StartHostAsync();
        var dave = await LoggedInAsync(host, "dave.test");
        await Task.Delay(1100);
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()); // the PDS refuses dave's token

        // A record (multi-byte text, no trailing newline): refused, refreshed, sent again with the same bytes, answered 200.
        var record = Encoding.UTF8.GetBytes($$$"""{"repo":"{{{dave.Did}}}","collection":"app.bsky.feed.post","record":{"text":"héllo ✓ 🦋","createdAt":"2026-12-05T00:00:00.000Z"}}""");
        using (var content = new ByteArrayContent(record))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var created = await host.Http.PostAsync($"/accounts/{dave.Did}/xrpc/{CreateRecord}", content);
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }
        Assert.Equal(1, Pds.CallCount(RefreshSession));
        var bodies = Pds.CreateRecordBodies;
        Assert.Equal(2, bodies.Count);
        Assert.All(bodies, body => Assert.Equal(record, body));

        // An upload is streamed and cannot be sent twice: the refusal comes back as the PDS gave it, the account refreshes,
        // and the client's own retry goes through. (First a refresh of the operator's: a token issued for a refusal that
        // is refused too holds refreshes back a while, the guard against a PDS refusing every token it issues.)
        using (var refresh = await host.Http.PostAsync($"/accounts/{dave.Did}/refresh", null)) Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
        await Task.Delay(1100);
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var image = new byte[200_000];
        Random.Shared.NextBytes(image);
        async Task<HttpResponseMessage> UploadAsync()
        {
            using var blob = new ByteArrayContent(image);
            blob.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            return await host.Http.PostAsync($"/accounts/{dave.Did}/xrpc/com.atproto.repo.uploadBlob", blob);
        }
        using (var refused = await UploadAsync())
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("ExpiredToken", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(Pds.CallCount(RefreshSession) >= 3), TimeSpan.FromSeconds(10), "the refresh the upload's refusal starts");
        using (var uploaded = await UploadAsync())
        {
            Assert.Equal(HttpStatusCode.OK, uploaded.StatusCode);
            Assert.Equal(image.Length, (await uploaded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("blob").GetProperty("size").GetInt32());
        }
        Assert.Equal(2, Pds.CallCount("com.atproto.repo.uploadBlob"));
        Assert.Equal(3, Pds.CallCount(RefreshSession));
    }
}
