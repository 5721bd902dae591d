using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>
/// createSession at the supervisor's <c>/xrpc</c> with an account key opens at most <c>supervisor.keys.session-budget</c>
/// sessions a window, as a PDS's createSession, and refreshSession rotates them at most <c>rotation-budget</c> times: one
/// more is answered 429 with when to retry, and is neither journaled nor audited, so a key holder can neither flood the
/// keys' journal nor push the audit trail's older entries out.
/// </summary>
public sealed class KeySessionBudgetSpec : FakePdsHostSpec
{
    [Fact]
    public async Task A_key_past_its_session_budget_is_answered_429_with_when_to_retry_and_nothing_is_audited()
    {
        await using var host = await StartHostAsync("supervisor.keys.session-budget = [\"2 per 10m\"]");
        var alice = await LoggedInAsync(host, "alice.test");
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        await OpenKeySessionAsync(host, alice.Handle, key);
        await OpenKeySessionAsync(host, alice.Handle, key);

        using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };
        using var third = await anonymous.PostAsJsonAsync("/xrpc/com.atproto.server.createSession", new { identifier = alice.Handle, password = key });
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        var body = await third.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("RateLimitExceeded", body.GetProperty("error").GetString());
        Assert.Contains("supervisor.keys.session-budget", body.GetProperty("message").GetString());
        Assert.InRange(third.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 590, 600);
        Assert.DoesNotContain("Jwt", await third.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        var audit = await host.Http.GetFromJsonAsync<JsonElement>("/audit?limit=1000");
        Assert.Equal(2, audit.EnumerateArray().Count(e => e.GetProperty("action").GetString() == "KeySessionOpened"));
    }

    [Fact]
    public async Task A_key_past_its_rotation_budget_is_answered_429_with_when_to_retry()
    {
        await using var host = await StartHostAsync("supervisor.keys.rotation-budget = [\"2 per 10m\"]");
        var alice = await LoggedInAsync(host, "alice.test");
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        var (_, refresh) = await OpenKeySessionAsync(host, alice.Handle, key);

        Task<HttpResponseMessage> RefreshAsync(string token) => RefreshKeySessionAsync(host, token);
        for (var i = 0; i < 2; i++)
        {
            using var rotated = await RefreshAsync(refresh);
            Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
            refresh = (await rotated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refreshJwt").GetString()!;
            TestSecrets.Register("key-session-refresh", refresh);
        }

        using var third = await RefreshAsync(refresh);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        var body = await third.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("RateLimitExceeded", body.GetProperty("error").GetString());
        Assert.Contains("supervisor.keys.rotation-budget", body.GetProperty("message").GetString());
        Assert.InRange(third.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 590, 600);
    }
}
