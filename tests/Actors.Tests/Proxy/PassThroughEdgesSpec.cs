using System.Net;
using System.Text.Json;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>
/// The pass-through's edges: the HTTP methods of XRPC pass (GET and POST, and HEAD for a query's headers), a subscription
/// is told where to go, an error answer of any length comes back whole.
/// </summary>
public sealed class PassThroughEdgesSpec : FakePdsHostSpec
{
    private const string GetSession = "com.atproto.server.getSession";

    [Fact]
    public async Task Head_passes_as_a_query_other_methods_get_405_and_a_subscription_a_clear_400()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");

        var calls = Pds.CallCount(GetSession);
        using (var head = await host.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/accounts/{alice.Did}/xrpc/{GetSession}")))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal("application/json", head.Content.Headers.ContentType?.MediaType);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }
        Assert.Equal(calls + 1, Pds.CallCount(GetSession)); // the HEAD reached the PDS

        using (var put = await host.Http.SendAsync(new HttpRequestMessage(HttpMethod.Put, $"/accounts/{alice.Did}/xrpc/{GetSession}")))
            Assert.Equal(HttpStatusCode.MethodNotAllowed, put.StatusCode);

        using var subscribe = new HttpRequestMessage(HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/com.atproto.sync.subscribeRepos");
        subscribe.Headers.TryAddWithoutValidation("Connection", "Upgrade");
        subscribe.Headers.TryAddWithoutValidation("Upgrade", "websocket");
        subscribe.Headers.TryAddWithoutValidation("Sec-WebSocket-Version", "13");
        subscribe.Headers.TryAddWithoutValidation("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        using var refused = await host.Http.SendAsync(subscribe);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("connect to the PDS itself", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString());
        Assert.Equal(0, Pds.CallCount("com.atproto.sync.subscribeRepos"));
    }

    [Fact]
    public async Task A_HEAD_answered_with_an_error_keeps_the_PDSs_Content_Length()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        const string DescribeRepo = "com.atproto.repo.describeRepo";
        var error = """{"error":"RepoNotFound","message":"Could not find repo"}"""u8.ToArray();
        Pds.AnswerWith(DescribeRepo, error, "application/json", status: 404);
        using var head = await host.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/accounts/{alice.Did}/xrpc/{DescribeRepo}?repo=did:plc:nobody"));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Equal(error.Length, head.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task An_error_answer_that_stalls_midway_is_a_504_and_the_next_call_passes()
    {
        await using var host = await StartHostAsync("supervisor.accounts.request-timeout = 2s");
        var alice = await LoggedInAsync(host, "alice.test");
        Pds.FailNext(GetSession, FakeFailure.StallMidErrorBody);
        using (var stalled = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}"))
        {
            Assert.Equal(HttpStatusCode.GatewayTimeout, stalled.StatusCode);
            Assert.Equal("Timeout", JsonDocument.Parse(await stalled.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        }
        using var next = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task An_error_that_echoes_the_accounts_token_reaches_a_key_holder_without_it()
    {
        await using var host = await StartHostAsync();
        var cleo = await LoggedInAsync(host, "cleo.test");
        var (_, key) = await IssueKeyAsync(host, cleo.Did);
        using var bot = ClientWith(host, key);

        const string DescribeRepo = "com.atproto.repo.describeRepo";
        Pds.FailNext(DescribeRepo, FakeFailure.EchoAuthorization);
        using var answer = await bot.GetAsync($"/xrpc/{DescribeRepo}?repo={cleo.Did}");
        var token = Pds.LastRequestHeaders(DescribeRepo)!["authorization"]["Bearer ".Length..];
        var body = await answer.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.False(body.Contains(token, StringComparison.Ordinal), "the account's access token reached the key holder");
        Assert.Empty(Secrets.JwtsIn(body));
        var error = JsonDocument.Parse(body).RootElement;
        Assert.Equal(("InvalidRequest", "Unexpected request with Bearer [redacted]"), (error.GetProperty("error").GetString(), error.GetProperty("message").GetString()));
        Assert.Equal("application/json", answer.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task An_error_that_echoes_the_accounts_token_compressed_or_in_a_header_reaches_a_key_holder_without_it()
    {
        await using var host = await StartHostAsync();
        var dina = await LoggedInAsync(host, "dina.test");
        var (_, key) = await IssueKeyAsync(host, dina.Did);
        using var bot = ClientWith(host, key);

        const string DescribeRepo = "com.atproto.repo.describeRepo";
        Pds.FailNext(DescribeRepo, FakeFailure.EchoAuthorizationGzipped);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/xrpc/{DescribeRepo}?repo={dina.Did}");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        using var answer = await bot.SendAsync(request); // this client decodes nothing: the bytes as they came
        var token = Pds.LastRequestHeaders(DescribeRepo)!["authorization"]["Bearer ".Length..];
        var bytes = await answer.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Empty(answer.Content.Headers.ContentEncoding); // the supervisor's own JSON, plain
        Assert.False(answer.Headers.ETag?.Tag.Contains(token, StringComparison.Ordinal) ?? false, "the token came back in a header");
        var error = JsonDocument.Parse(bytes).RootElement;
        Assert.Equal(("InvalidRequest", "Unexpected request with Bearer [redacted]"), (error.GetProperty("error").GetString(), error.GetProperty("message").GetString()));
        Assert.Empty(Secrets.JwtsIn(System.Text.Encoding.UTF8.GetString(bytes)));
    }

    [Fact]
    public async Task An_error_body_in_an_encoding_that_cannot_be_read_is_not_passed_on()
    {
        await using var host = await StartHostAsync();
        var eve = await LoggedInAsync(host, "eve.test");

        const string DescribeRepo = "com.atproto.repo.describeRepo";
        foreach (var encoding in new[] { "gzip", "br", "deflate", "zstd" })
        {
            Pds.AnswerWith(DescribeRepo, "{\"error\":\"this is not compressed\"}"u8.ToArray(), "application/json", new Dictionary<string, string> { ["Content-Encoding"] = encoding }, status: 400);
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/accounts/{eve.Did}/xrpc/{DescribeRepo}?repo={eve.Did}");
            request.Headers.TryAddWithoutValidation("Accept-Encoding", encoding);
            using var answer = await host.Http.SendAsync(request);

            Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
            Assert.Empty(answer.Content.Headers.ContentEncoding);
            var error = JsonDocument.Parse(await answer.Content.ReadAsByteArrayAsync()).RootElement;
            Assert.Equal("InvalidResponse", error.GetProperty("error").GetString());
            Assert.Contains($"encoded as '{encoding}'", error.GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task An_error_answer_longer_than_the_supervisor_reads_reaches_a_key_holder_as_the_supervisors_error()
    {
        await using var host = await StartHostAsync();
        var bob = await LoggedInAsync(host, "bob.test");
        var (_, key) = await IssueKeyAsync(host, bob.Did);
        using var bot = ClientWith(host, key);

        // About 100 KB, the request's Authorization echoed at its end (as a debugging page of a server in front of a PDS
        // lists a request's headers): it was passed on unread, past its first 64 KiB, with or without a Content-Length.
        const string DescribeRepo = "com.atproto.repo.describeRepo";
        foreach (var failure in new[] { FakeFailure.LongChunkedError, FakeFailure.LongError })
        {
            Pds.FailNext(DescribeRepo, failure);
            using var answer = await bot.GetAsync($"/xrpc/{DescribeRepo}?repo={bob.Did}");
            var token = Pds.LastRequestHeaders(DescribeRepo)!["authorization"]["Bearer ".Length..];
            var body = await answer.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
            Assert.False(body.Contains(token, StringComparison.Ordinal), $"the account's access token reached the key holder ({failure})");
            var error = JsonDocument.Parse(body).RootElement;
            Assert.Equal("InvalidResponse", error.GetProperty("error").GetString());
            Assert.Contains("longer than 65536 bytes", error.GetProperty("message").GetString());
        }
    }
}
