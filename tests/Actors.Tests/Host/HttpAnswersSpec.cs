using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// The HTTP API's answers that the README promises, the host as a process against a fake PDS: 401 for a
/// revoked import, 409 and 503 for calls of an account that cannot serve, 429 with Retry-After for a held
/// call, 504 for a call the PDS does not answer within request-timeout (and the PDS's call ended when its client goes
/// away), each server's rate limit in /status, and the metrics after known events.
/// </summary>
public sealed class HttpAnswersSpec : FakePdsHostSpec
{
    private const string GetSession = "com.atproto.server.getSession";

    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(SupervisorProcess host, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        using var answer = await host.Http.SendAsync(request);
        var text = await answer.Content.ReadAsStringAsync();
        return (answer.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    [Fact]
    public async Task A_body_not_sent_as_application_json_is_a_415_and_changes_nothing()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var json = $$"""{"identifier":"{{alice.Handle}}","password":"{{alice.Password}}","service":"{{Pds.Url}}","account":"{{alice.Did}}","session":"x"}""";
        foreach (var path in new[] { "/accounts", "/accounts/import", "/keys" })
        foreach (var type in new[] { "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x" })
        {
            using var content = new StringContent(json, Encoding.UTF8);
            content.Headers.Remove("Content-Type");
            content.Headers.TryAddWithoutValidation("Content-Type", type);
            using var answer = await host.Http.PostAsync(path, content);
            Assert.True(answer.StatusCode == HttpStatusCode.UnsupportedMediaType, $"{path} as {type} answered {(int)answer.StatusCode}");
            Assert.Equal("UnsupportedMediaType", (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
        Assert.Equal(0, Pds.CallsInAll);
        Assert.Equal(0, (await host.Http.GetFromJsonAsync<JsonElement>("/accounts")).GetProperty("accounts").GetArrayLength());
    }

    [Fact]
    public async Task A_body_that_breaks_the_chunked_framing_is_a_400_InvalidRequest_and_no_error_in_the_log()
    {
        await using var host = await StartHostAsync();
        var admin = host.Http.DefaultRequestHeaders.Authorization!.ToString();
        // Unauthenticated (the supervisor's createSession reads its body before it knows the caller) and as the admin.
        foreach (var (path, authorization) in new[] { ("/xrpc/com.atproto.server.createSession", ""), ("/accounts", $"Authorization: {admin}\r\n") })
        {
            using var socket = new System.Net.Sockets.TcpClient();
            await socket.ConnectAsync(host.Http.BaseAddress!.Host, host.Http.BaseAddress.Port);
            var stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"POST {path} HTTP/1.1\r\nHost: {host.Http.BaseAddress.Authority}\r\n{authorization}Content-Type: application/json\r\n" +
                "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\nzz-not-a-size\r\n\r\n"));
            using var reader = new StreamReader(stream, Encoding.ASCII);
            var statusLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(15));
            string? line;
            var body = "";
            while (!string.IsNullOrEmpty(line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(15)))) { }
            while ((line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(15))) is not null) body += line;
            Assert.Equal("HTTP/1.1 400 Bad Request", statusLine);
            Assert.Contains("\"InvalidRequest\"", body);
        }
        await Task.Delay(500);
        Assert.DoesNotContain(host.Output.Split('\n'), l => l.Contains(" ERR]", StringComparison.Ordinal) || l.Contains("Exception", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_import_of_a_revoked_session_is_answered_401()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var (access, refresh) = Pds.IssuePair(alice.Did);
        Pds.RevokeAllRefreshTokens(alice.Did);

        var (status, body) = await SendAsync(host, HttpMethod.Post, "/accounts/import", new { session = $"{alice.Handle}:::{alice.Did}:::{access}:::{refresh}:::{Pds.Url}" });
        Assert.Equal((HttpStatusCode.Unauthorized, "ExpiredToken"), (status, body.GetProperty("error").GetString()));
        Assert.Equal(1, Pds.CallCount("com.atproto.server.refreshSession"));
        Assert.Empty(Secrets.JwtsIn(host.Output));
    }

    [Fact]
    public async Task An_import_with_validate_false_is_taken_as_it_is_without_a_refresh()
    {
        await using var host = await StartHostAsync();
        var bea = Pds.CreateAccount("bea.test", "pw-bea");
        var (access, refresh) = Pds.IssuePair(bea.Did);

        var (status, body) = await SendAsync(host, HttpMethod.Post, "/accounts/import",
            new { session = $"{bea.Handle}:::{bea.Did}:::{access}:::{refresh}:::{Pds.Url}", validate = false });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal((bea.Did, "Active"), (body.GetProperty("did").GetString(), body.GetProperty("state").GetString()));
        Assert.Equal(0, Pds.CallCount("com.atproto.server.refreshSession"));
        Assert.True(Pds.IsRefreshTokenLive(refresh), "the imported refresh token was used");
    }

    [Fact]
    public async Task An_xrpc_call_of_an_account_that_needs_a_login_is_answered_409()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        // The session is revoked at the server: the access token is refused, and so is the refresh it leads to.
        Pds.RevokeAllRefreshTokens(alice.Did);
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.UtcNow.AddMinutes(1);

        var (status, body) = await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Handle}/xrpc/{GetSession}");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("NeedsLogin", body.GetProperty("message").GetString());
        (status, body) = await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Handle}/xrpc/{GetSession}");
        Assert.Equal((HttpStatusCode.Conflict, "NeedsLogin"), (status, body.GetProperty("error").GetString()));
        Assert.Contains("ExpiredToken", body.GetProperty("message").GetString()); // the PDS's error that ended the session
        Assert.Equal("NeedsLogin", (await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}")).Body.GetProperty("state").GetString());
    }

    [Fact]
    public async Task An_xrpc_call_of_an_account_awaiting_its_code_or_logging_out_is_answered_409_with_that_state_and_never_reaches_the_PDS()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        // Her session ends at the server; the operator's login again meets a sign-in code.
        Pds.RevokeAllRefreshTokens(alice.Did);
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.UtcNow.AddMinutes(1);
        Assert.Equal(HttpStatusCode.Conflict, (await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{GetSession}")).Status);
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.MinValue;
        Pds.RequireAuthFactor(alice.Did, "CODE-1");
        var login = new { identifier = alice.Handle, password = alice.Password, service = Pds.Url };
        Assert.Equal((HttpStatusCode.Unauthorized, "AuthFactorTokenRequired"), await ErrorOfAsync(SendAsync(host, HttpMethod.Post, "/accounts", login)));
        Assert.Equal("AwaitingAuthFactor", (await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}")).Body.GetProperty("state").GetString());
        var calls = Pds.CallCount(GetSession);
        var (status, body) = await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{GetSession}");
        Assert.Equal((HttpStatusCode.Conflict, "AwaitingAuthFactor"), (status, body.GetProperty("error").GetString()));
        Assert.Contains("an operator must log it in again", body.GetProperty("message").GetString());
        Assert.Equal(calls, Pds.CallCount(GetSession));
        // With the code, it serves again.
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(host, HttpMethod.Post, "/accounts", new { login.identifier, login.password, login.service, authFactorToken = "CODE-1" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{GetSession}")).Status);

        // A logout whose deleteSession fails is retried; meanwhile no call goes out with the session being ended.
        Pds.FailNext("com.atproto.server.deleteSession", FakeFailure.ServerError500, times: 100);
        Assert.Equal(HttpStatusCode.Accepted, (await SendAsync(host, HttpMethod.Delete, $"/accounts/{alice.Did}")).Status);
        calls = Pds.CallCount(GetSession);
        (status, body) = await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{GetSession}");
        Assert.Equal((HttpStatusCode.Conflict, "LoggingOut"), (status, body.GetProperty("error").GetString()));
        Assert.Contains("is LoggingOut", body.GetProperty("message").GetString());
        Assert.Equal(calls, Pds.CallCount(GetSession));
        Assert.Empty(Secrets.JwtsIn(host.Output));
    }

    private static async Task<(HttpStatusCode, string?)> ErrorOfAsync(Task<(HttpStatusCode Status, JsonElement Body)> answer)
    {
        var (status, body) = await answer;
        return (status, body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task An_AccountTakedown_that_a_service_behind_the_PDS_answers_is_passed_on_and_the_session_goes_on()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        // What a labeler reached through atproto-proxy can answer, passed on by the PDS as it came.
        Pds.AnswerWith("app.bsky.labeler.getServices", """{"error":"AccountTakedown","message":"Account has been taken down"}"""u8.ToArray(), "application/json", status: 401);
        for (var i = 0; i < 3; i++)
        {
            var (status, body) = await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/app.bsky.labeler.getServices?dids={alice.Did}");
            Assert.Equal((HttpStatusCode.Unauthorized, "AccountTakedown"), (status, body.GetProperty("error").GetString()));
        }
        // The refresh that checked it was the PDS's own, and succeeded: the account serves on.
        Assert.InRange(Pds.CallCount("com.atproto.server.refreshSession"), 1, 2);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{GetSession}")).Status);
        Assert.Equal("Active", (await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}")).Body.GetProperty("state").GetString());
    }

    [Fact]
    public async Task An_xrpc_call_of_a_taken_down_account_is_answered_409()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        Pds.Takedown(alice.Did);

        // The write that meets the takedown gets the PDS's own answer; the session ends with the refresh it starts (refused
        // AccountTakedown too), which the next call waits for.
        using (var write = await host.Http.PostAsync($"/accounts/{alice.Did}/xrpc/com.atproto.repo.createRecord",
                   new StringContent($$$"""{"repo":"{{{alice.Did}}}","collection":"app.bsky.feed.post","record":{"text":"x"}}""", Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.Unauthorized, write.StatusCode);
        var calls = Pds.CallCount(GetSession);
        var (status, body) = await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{GetSession}");
        Assert.Equal((HttpStatusCode.Conflict, "AccountTakedown"), (status, body.GetProperty("error").GetString()));
        Assert.Contains("TakenDown", body.GetProperty("message").GetString());
        Assert.Equal(calls, Pds.CallCount(GetSession));
    }

    [Fact]
    public async Task An_xrpc_call_of_a_degraded_account_is_answered_503_with_its_retry_time()
    {
        await using var host = await StartHostAsync("supervisor.accounts { backoff-min = 30s, backoff-max = 1m }");
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        Pds.FailNext("com.atproto.server.refreshSession", FakeFailure.ServerError500, times: 10);
        var (status, body) = await SendAsync(host, HttpMethod.Post, $"/accounts/{alice.Did}/refresh");
        Assert.Equal((HttpStatusCode.OK, "Degraded"), (status, body.GetProperty("state").GetString()));
        // Its access token is refused now, and the refresh that would replace it waits for its retry.
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.UtcNow.AddMinutes(1);

        using var answer = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
        var error = await answer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("InternalServerError", error.GetProperty("error").GetString());
        Assert.Contains("Degraded", error.GetProperty("message").GetString());
        Assert.True(error.TryGetProperty("retryAt", out _));
        Assert.InRange(answer.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(61));
    }

    [Fact]
    public async Task A_call_held_back_by_a_rate_limit_is_answered_429_with_Retry_After_and_RateLimit_Reset_without_reaching_the_server()
    {
        Pds.SharedLimit = 3000;
        Pds.SharedWindow = TimeSpan.FromMinutes(5);
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        Pds.UseSharedBudget(3000); // other clients behind this IP spent the server's budget

        // The server's own 429 under its shared policy comes back as it is, and holds every later call.
        long reset;
        using (var refused = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            reset = long.Parse(refused.Headers.GetValues("RateLimit-Reset").Single());
        }
        var calls = Pds.CallCount(GetSession);

        using var held = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}");
        Assert.Equal(HttpStatusCode.TooManyRequests, held.StatusCode);
        Assert.Equal("RateLimitExceeded", (await held.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.Equal(reset, long.Parse(held.Headers.GetValues("RateLimit-Reset").Single()));
        Assert.InRange(held.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(301));
        Assert.Equal(calls, Pds.CallCount(GetSession));
        // /status shows the server blocked until its reset.
        var server = Assert.Single((await SendAsync(host, HttpMethod.Get, "/status")).Body.GetProperty("servers").EnumerateArray());
        Assert.Equal(reset, server.GetProperty("blockedUntil").GetDateTimeOffset().ToUnixTimeSeconds());
        Assert.Equal(0, server.GetProperty("remaining").GetInt32());
    }

    [Fact]
    public async Task A_429_under_another_policy_holds_that_method_of_that_account_only_and_status_counts_it()
    {
        const string Timeline = "app.bsky.feed.getTimeline";
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var bob = Pds.CreateAccount("bob.test", "pw-bob");
        await LoginAsync(host, alice);
        await LoginAsync(host, bob);
        // A service behind the PDS (the appview) has its own, smaller limit, spent.
        var reset = DateTimeOffset.UtcNow.AddMinutes(2).ToUnixTimeSeconds();
        Pds.AnswerWith(Timeline, """{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}"""u8.ToArray(), "application/json", new Dictionary<string, string>
        {
            ["RateLimit-Limit"] = "10", ["RateLimit-Remaining"] = "0", ["RateLimit-Reset"] = reset.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RateLimit-Policy"] = "10;w=120",
        }, status: 429);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{Timeline}")).Status);
        var calls = Pds.CallCount(Timeline);

        // Held: the same method of alice's, answered by the supervisor until the reset; her other methods and bob's go on.
        using (var held = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{Timeline}"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, held.StatusCode);
            Assert.Equal(reset, long.Parse(held.Headers.GetValues("RateLimit-Reset").Single(), System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.Equal(calls, Pds.CallCount(Timeline));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{GetSession}")).Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await SendAsync(host, HttpMethod.Get, $"/accounts/{bob.Did}/xrpc/{Timeline}")).Status);
        Assert.Equal(calls + 1, Pds.CallCount(Timeline)); // bob's reached the server

        var server = Assert.Single((await SendAsync(host, HttpMethod.Get, "/status")).Body.GetProperty("servers").EnumerateArray());
        Assert.Equal(2, server.GetProperty("heldCalls").GetInt32()); // alice's and bob's getTimeline
        Assert.False(server.TryGetProperty("blockedUntil", out var blocked) && blocked.ValueKind != JsonValueKind.Null, $"blocked: {server}");
    }

    [Fact]
    public async Task Status_lists_each_servers_limit_remaining_and_reset_once_the_server_sent_its_headers()
    {
        Pds.SharedLimit = 3000;
        Pds.SharedWindow = TimeSpan.FromMinutes(5);
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        long reset;
        using (var answer = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}"))
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            reset = long.Parse(answer.Headers.GetValues("RateLimit-Reset").Single());
        }

        var (_, status) = await SendAsync(host, HttpMethod.Get, "/status");
        var server = Assert.Single(status.GetProperty("servers").EnumerateArray());
        Assert.Equal(new Uri(Pds.Url).Authority, server.GetProperty("server").GetString());
        Assert.Equal(3000, server.GetProperty("limit").GetInt32());
        Assert.InRange(server.GetProperty("remaining").GetInt32(), 0, 2998); // the login and the call, at least
        Assert.Equal(reset, server.GetProperty("reset").GetDateTimeOffset().ToUnixTimeSeconds());
        Assert.Equal((1, 0), (server.GetProperty("accounts").GetInt32(), server.GetProperty("heldCalls").GetInt32()));
    }

    [Fact]
    public async Task Metrics_count_login_failures_refreshes_refresh_failures_and_request_latencies()
    {
        await using var host = await StartHostAsync("supervisor.accounts { backoff-min = 1m, backoff-max = 2m }");
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        var (status, _) = await SendAsync(host, HttpMethod.Post, "/accounts", new { identifier = alice.Handle, password = "wrong", service = Pds.Url });
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        for (var i = 0; i < 2; i++)
            Assert.Equal("Active", (await SendAsync(host, HttpMethod.Post, $"/accounts/{alice.Did}/refresh")).Body.GetProperty("state").GetString());
        Pds.FailNext("com.atproto.server.refreshSession", FakeFailure.ServerError500);
        Assert.Equal("Degraded", (await SendAsync(host, HttpMethod.Post, $"/accounts/{alice.Did}/refresh")).Body.GetProperty("state").GetString());
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{GetSession}")).Status);

        var metrics = await PrometheusScrape.ReadAsync(host);
        Assert.Equal(1, metrics.Value("supervisor_logins_total"));
        Assert.Equal(1, metrics.Value("supervisor_login_failures_total"));
        Assert.Equal(2, metrics.Value("supervisor_refreshes_total"));
        Assert.Equal(1, metrics.Value("supervisor_refresh_failures_total"));
        Assert.Equal(1, metrics.Value("supervisor_accounts", ("state", "Degraded")));
        Assert.Equal(0, metrics.Value("supervisor_unjournaled_events"));
        Assert.Equal("histogram", metrics.TypeOf("supervisor_request_duration_seconds"));
        Assert.Equal(3, metrics.Value("supervisor_request_duration_seconds_count"));
        Assert.Equal(3, metrics.Value("supervisor_request_duration_seconds_bucket", ("le", "+Inf")));
        Assert.Equal(3, metrics.Value("supervisor_request_duration_seconds_bucket", ("le", "10")));
        Assert.InRange(metrics.Value("supervisor_request_duration_seconds_sum")!.Value, 1e-6, 30);
    }

    [Fact]
    public async Task A_call_passed_through_to_a_PDS_that_does_not_answer_is_answered_504_after_request_timeout_and_the_next_call_passes()
    {
        await using var host = await StartHostAsync("supervisor.accounts.request-timeout = 3s");
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        Pds.FailNext(GetSession, FakeFailure.Hang);

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var (status, body) = await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{GetSession}");
        var waited = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        Assert.Equal((HttpStatusCode.GatewayTimeout, "Timeout"), (status, body.GetProperty("error").GetString()));
        Assert.Equal("no answer from the PDS within 3 s", body.GetProperty("message").GetString());
        Assert.InRange(waited, TimeSpan.FromSeconds(2.9), TimeSpan.FromSeconds(10));
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(Pds.AbandonedCalls == 1), TimeSpan.FromSeconds(5), "the PDS's call given up");

        // The next request gets a deadline of its own: the one that ran out is not used again.
        (status, body) = await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{GetSession}");
        Assert.Equal((HttpStatusCode.OK, alice.Did), (status, body.GetProperty("did").GetString()));
    }

    [Fact]
    public async Task A_client_that_goes_away_ends_its_call_to_the_PDS_at_once()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        Pds.FailNext(GetSession, FakeFailure.Hang);

        using var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}", giveUp.Token));
        // Long before request-timeout (30 s): the host's call to the PDS ended with its client's request.
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(Pds.AbandonedCalls == 1), TimeSpan.FromSeconds(5), "the PDS's call given up");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(host, HttpMethod.Get, $"/accounts/{alice.Did}/xrpc/{GetSession}")).Status);
    }
}
