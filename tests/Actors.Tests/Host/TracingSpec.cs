using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// One trace per API request, exported over OTLP/HTTP to a collector in the test: the host as a process against a
/// fake PDS, a request with a W3C <c>traceparent</c> header, and its HTTP span, the account actor's span and the PDS
/// call's span in that trace, chained parent to child; the request's log line carries the trace id.
/// </summary>
public sealed class TracingSpec : FakePdsHostSpec
{
    private const string GetSession = "com.atproto.server.getSession";

    private static (string TraceId, string ParentId, string Header) NewTraceParent()
    {
        var traceId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var parentId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        return (traceId, parentId, $"00-{traceId}-{parentId}-01");
    }

    private async Task<SupervisorProcess> StartHostAsync(OtlpReceiver? collector, string? hocon = null)
    {
        var environment = Folder.HostEnvironment();
        if (hocon is not null) environment["SUPERVISOR_HOCON"] = hocon;
        if (collector is not null)
        {
            environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url;
            environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            environment["OTEL_BSP_SCHEDULE_DELAY"] = "100";
            environment["OTEL_METRIC_EXPORT_INTERVAL"] = "500";
        }
        var host = new SupervisorProcess(Folder.Folder, environment);
        await host.StartAsync();
        return host;
    }

    private async Task<FakeAccount> LoginAsync(SupervisorProcess host)
    {
        var alice = Pds.CreateAccount("alice.test", "pw-alice-trace");
        await LoginAsync(host, alice);
        return alice;
    }

    private static async Task<HttpStatusCode> GetAsync(HttpClient client, string path, string traceParent, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("traceparent", traceParent);
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using var answer = await client.SendAsync(request);
        return answer.StatusCode;
    }

    private static string Describe(IEnumerable<ExportedSpan> spans) =>
        string.Join("\n", spans.Select(s => $"{s.Scope} '{s.Name}' {s.Kind} {s.SpanId} <- {s.ParentSpanId}"));

    [Fact]
    public async Task A_pass_through_request_is_one_trace_of_its_http_span_the_account_span_and_the_pds_call()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        await using var host = await StartHostAsync(collector);
        var alice = await LoginAsync(host);
        var (traceId, parentId, traceParent) = NewTraceParent();
        var queryValue = "q" + Guid.NewGuid().ToString("N");

        Assert.Equal(HttpStatusCode.OK, await GetAsync(host.Http, $"/accounts/{alice.Did}/xrpc/{GetSession}?probe={queryValue}", traceParent));

        // Borrowed token: the account lends it under the HTTP span, and the HTTP handler calls the PDS itself.
        var trace = await collector.WaitForTraceAsync(traceId, t => t.Count >= 3, TimeSpan.FromSeconds(30));
        var http = Assert.Single(trace, s => s.Kind == SpanKind.Server);
        Assert.True(http.ParentSpanId == parentId, Describe(trace));
        var account = Assert.Single(trace, s => s.Scope == "Supervisor");
        Assert.Equal(("account BorrowAccessToken", http.SpanId), (account.Name, account.ParentSpanId));
        var pds = Assert.Single(trace, s => s.Kind == SpanKind.Client);
        Assert.True(pds.ParentSpanId == http.SpanId, Describe(trace));
        // Query values are redacted from both HTTP spans' URLs; the access token's header is never recorded.
        Assert.False(collector.Received(queryValue), "a query value was exported");
        Assert.False(collector.Received("Bearer "), "an Authorization header was exported");
        // Nor the token itself, in any attribute, after a refresh and a failing call too.
        Assert.Equal(HttpStatusCode.OK, (await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null)).StatusCode);
        Pds.FailNext(GetSession, FakeFailure.EchoAuthorization);
        var failing = NewTraceParent();
        await GetAsync(host.Http, $"/accounts/{alice.Did}/xrpc/{GetSession}", failing.Header);
        var token = Pds.LastRequestHeaders(GetSession)!["authorization"]["Bearer ".Length..];
        await collector.WaitForTraceAsync(failing.TraceId, t => t.Count >= 3, TimeSpan.FromSeconds(30));
        Assert.False(collector.Received(token), "the account's access token was exported");
        Assert.False(collector.Received(token.Split('.')[0]), "a token's header (any token of this PDS) was exported");
    }

    [Fact]
    public async Task The_account_span_names_the_DID_the_method_and_the_outcome_under_the_service_and_an_unsampled_parent_or_a_probe_makes_no_span()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        await using var host = await StartHostAsync(collector);
        var alice = await LoginAsync(host);
        // Before the trace waited for: a parent not sampled, and the probes and the scrape, each with a sampled parent.
        var unsampled = NewTraceParent();
        Assert.Equal(HttpStatusCode.OK, await GetAsync(host.Http, $"/accounts/{alice.Did}/xrpc/{GetSession}", unsampled.Header[..^2] + "00"));
        var probes = new[] { "/healthz", "/healthz/live", "/healthz/ready", "/metrics" }.Select(path => (Path: path, Trace: NewTraceParent())).ToList();
        foreach (var (path, trace) in probes) Assert.Equal(HttpStatusCode.OK, await GetAsync(host.Http, path, trace.Header));

        var lent = NewTraceParent();
        Assert.Equal(HttpStatusCode.OK, await GetAsync(host.Http, $"/accounts/{alice.Did}/xrpc/{GetSession}", lent.Header));
        var account = Assert.Single(await collector.WaitForTraceAsync(lent.TraceId, t => t.Count >= 3, TimeSpan.FromSeconds(30)), s => s.Scope == "Supervisor");
        Assert.Equal((alice.Did, GetSession, "lent"), (account.Attributes["atproto.did"], account.Attributes["xrpc.method"], account.Attributes["supervisor.outcome"]));
        Assert.Equal("supervisor", account.Service);

        // Her session ended at the server (the first call finds it out), the account lends nothing.
        Pds.RevokeAllRefreshTokens(alice.Did);
        Pds.RejectAccessTokensIssuedBefore = DateTimeOffset.UtcNow.AddMinutes(1);
        Assert.Equal(HttpStatusCode.Conflict, await GetAsync(host.Http, $"/accounts/{alice.Did}/xrpc/{GetSession}", NewTraceParent().Header));
        var refused = NewTraceParent();
        Assert.Equal(HttpStatusCode.Conflict, await GetAsync(host.Http, $"/accounts/{alice.Did}/xrpc/{GetSession}", refused.Header));
        account = Assert.Single(await collector.WaitForTraceAsync(refused.TraceId, t => t.Any(s => s.Scope == "Supervisor"), TimeSpan.FromSeconds(30)), s => s.Scope == "Supervisor");
        Assert.Equal("unavailable", account.Attributes["supervisor.outcome"]);

        // Spans are exported in the order they end, in batches: what came before these two traces would have come by now.
        Assert.DoesNotContain(collector.Spans, s => s.TraceId == unsampled.TraceId);
        foreach (var (path, trace) in probes) Assert.False(collector.Spans.Any(s => s.TraceId == trace.TraceId), $"{path} was traced");
    }

    [Fact]
    public async Task A_request_that_finds_the_token_expired_waits_for_the_refresh_counted_in_pendingRequests_and_its_span_says_so()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        // Idle after a second: the account stops refreshing ahead, and its 4-second access token expires.
        await using var host = await StartHostAsync(collector, "supervisor.accounts { active-window = 1s }");
        Pds.AccessTokenLifetime = TimeSpan.FromSeconds(4);
        var alice = await LoginAsync(host);
        await SupervisorSpec.EventuallyAsync(async () => (await StatusAsync(host, alice.Did)).GetProperty("accessExpiresAt").GetDateTimeOffset() < DateTimeOffset.UtcNow,
            TimeSpan.FromSeconds(30), "the access token expired");

        // The request's borrow starts a refresh, which the PDS holds: the request waits for it, counted.
        Pds.FailNext("com.atproto.server.refreshSession", FakeFailure.HeldUntilReleased);
        var waiting = NewTraceParent();
        var request = GetAsync(host.Http, $"/accounts/{alice.Did}/xrpc/{GetSession}", waiting.Header);
        await SupervisorSpec.EventuallyAsync(async () => (await StatusAsync(host, alice.Did)).GetProperty("pendingRequests").GetInt32() == 1,
            TimeSpan.FromSeconds(15), "the waiting request in pendingRequests");
        Assert.False(request.IsCompleted);

        Pds.ReleaseHeldAnswers();
        Assert.Equal(HttpStatusCode.OK, await request);
        var trace = await collector.WaitForTraceAsync(waiting.TraceId, t => t.Count(s => s.Scope == "Supervisor") >= 2, TimeSpan.FromSeconds(30));
        Assert.Equal(["lent", "waits for a refresh"], trace.Where(s => s.Scope == "Supervisor").Select(s => s.Attributes["supervisor.outcome"]).Order());
        await SupervisorSpec.EventuallyAsync(async () => (await StatusAsync(host, alice.Did)).GetProperty("pendingRequests").GetInt32() == 0,
            TimeSpan.FromSeconds(15), "no request pending once it was answered");
    }

    private static async Task<JsonElement> StatusAsync(SupervisorProcess host, string did) =>
        await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{did}");

    [Fact]
    public async Task A_call_by_message_chains_the_pds_call_under_the_account_span()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        await using var host = await StartHostAsync(collector);
        var alice = await LoginAsync(host);
        using var issued = await host.Http.PostAsJsonAsync("/keys", new { account = alice.Did });
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        var key = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        TestSecrets.Register("account-key", key);
        var (traceId, parentId, traceParent) = NewTraceParent();

        // getSession at /xrpc is a CallXrpc: the account's actor makes the PDS call itself.
        using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, await GetAsync(anonymous, $"/xrpc/{GetSession}", traceParent, bearer: key));

        var trace = await collector.WaitForTraceAsync(traceId, t => t.Count >= 3, TimeSpan.FromSeconds(30));
        var http = Assert.Single(trace, s => s.Kind == SpanKind.Server);
        Assert.True(http.ParentSpanId == parentId, Describe(trace));
        var account = Assert.Single(trace, s => s.Scope == "Supervisor");
        Assert.Equal(("account CallXrpc", http.SpanId), (account.Name, account.ParentSpanId));
        var pds = Assert.Single(trace, s => s.Kind == SpanKind.Client);
        Assert.True(pds.ParentSpanId == account.SpanId, Describe(trace));
    }

    [Fact]
    public async Task Metrics_are_exported_over_otlp_with_the_service_name_the_counters_and_the_gauges()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        await using var host = await StartHostAsync(collector);
        var alice = await LoginAsync(host);
        Assert.Equal(HttpStatusCode.OK, await GetAsync(host.Http, $"/accounts/{alice.Did}/xrpc/{GetSession}", NewTraceParent().Header));

        string[] expected = ["supervisor.logins", "supervisor.accounts.running", "supervisor.http.request.duration", "supervisor.pds.call.duration", "service.name"];
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!expected.All(collector.Received) && DateTime.UtcNow < until) await Task.Delay(200);
        Assert.All(expected, name => Assert.True(collector.Received(name), $"{name} was not exported"));
        Assert.False(collector.Received(alice.Password));
    }

    [Fact]
    public async Task The_log_line_of_a_request_carries_its_trace_id_and_route_template_but_not_the_paths_values_or_the_query()
    {
        await using var host = await StartHostAsync(collector: null);
        var alice = await LoginAsync(host);
        var (traceId, _, traceParent) = NewTraceParent();
        var probe = Guid.NewGuid().ToString("N");

        Assert.Equal(HttpStatusCode.OK, await GetAsync(host.Http, $"/accounts/{alice.Did}/xrpc/{GetSession}?probe={probe}", traceParent));

        // The line is written once the answer has left: it may come a moment after the client has it.
        JsonElement? line = null;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (line is null && DateTime.UtcNow < until)
        {
            line = host.LogLines().Cast<JsonElement?>().FirstOrDefault(l => l!.Value.TryGetProperty("@tr", out var tr) && tr.GetString() == traceId);
            if (line is null) await Task.Delay(100);
        }
        Assert.True(line is not null, $"no log line with trace id {traceId}");
        Assert.Equal("/accounts/{id}/xrpc/{nsid}", line.Value.GetProperty("Route").GetString());
        Assert.Equal(200, line.Value.GetProperty("StatusCode").GetInt32());
        Assert.Matches("^[0-9a-f]{16}$", line.Value.GetProperty("@sp").GetString());
        Assert.DoesNotContain(alice.Did, line.Value.GetRawText());
        Assert.DoesNotContain(probe, host.Output);
        Assert.DoesNotContain(host.LogLines(), l => l.GetRawText().Contains(probe, StringComparison.Ordinal));
    }
}
