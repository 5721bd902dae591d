using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>
/// One account has at most <c>supervisor.proxy.max-in-flight</c> requests passing through at once, and as many more
/// waiting for a place, which they take in turn as requests end; one more than that is answered 429 at once and never
/// reaches the PDS; another account's requests pass.
/// </summary>
public sealed class RequestsInFlightSpec : FakePdsHostSpec
{
    private const string Timeline = "app.bsky.feed.getTimeline";
    private static readonly byte[] Feed = """{"feed":[]}"""u8.ToArray();

    [Fact]
    public async Task Requests_past_an_accounts_in_flight_wait_for_a_place_one_past_those_is_answered_429_and_no_other_account_waits()
    {
        await using var host = await StartHostAsync("supervisor.proxy.max-in-flight = 3");
        var alice = await LoggedInAsync(host, "alice.test");
        var bob = await LoggedInAsync(host, "bob.test");
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        using var bot = new HttpClient { BaseAddress = host.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        bot.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        Pds.FailNext(Timeline, FakeFailure.Hang, times: 3);
        Pds.AnswerWith(Timeline, Feed, "application/json");

        using var giveUp = new CancellationTokenSource();
        var held = Enumerable.Range(0, 3).Select(_ => bot.GetAsync($"/xrpc/{Timeline}", giveUp.Token)).ToList();
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(Pds.CallCount(Timeline) == 3), TimeSpan.FromSeconds(10), "three requests at the PDS");
        // Three more wait for a place (as a bot's Promise.all of six would have them), without reaching the PDS.
        var waiting = Enumerable.Range(0, 3).Select(_ => bot.GetAsync($"/xrpc/{Timeline}")).ToList();
        await Task.Delay(500);
        Assert.All(waiting, w => Assert.False(w.IsCompleted));
        Assert.Equal(3, Pds.CallCount(Timeline));

        using (var seventh = await bot.GetAsync($"/xrpc/{Timeline}"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, seventh.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), seventh.Headers.RetryAfter?.Delta);
            var body = await seventh.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("RateLimitExceeded", body.GetProperty("error").GetString());
            Assert.Contains("supervisor.proxy.max-in-flight", body.GetProperty("message").GetString());
        }
        Assert.Equal(3, Pds.CallCount(Timeline));
        // getSession, which the supervisor answers with a call of the account's own, is one of its requests as well.
        using (var session = await bot.GetAsync("/xrpc/com.atproto.server.getSession"))
            Assert.Equal(HttpStatusCode.TooManyRequests, session.StatusCode);

        // Another account is not held by alice's requests.
        using (var bobs = await host.Http.GetAsync($"/accounts/{bob.Did}/xrpc/{Timeline}"))
            Assert.Equal(Feed, await bobs.Content.ReadAsByteArrayAsync());

        // Once alice's requests in flight end (her client gave up on them), the waiting ones take their places and pass.
        giveUp.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(held));
        foreach (var answer in await Task.WhenAll(waiting))
            using (answer)
                Assert.Equal(Feed, await answer.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task The_admin_naming_the_account_by_handle_is_counted_in_any_case_and_requests_that_fail_give_their_place_back()
    {
        await using var host = await StartHostAsync("supervisor.proxy.max-in-flight = 3");
        var alice = await LoggedInAsync(host, "alice.test");
        const string CreateRecord = "com.atproto.repo.createRecord";
        var record = new { repo = alice.Did, collection = "app.bsky.feed.post", record = new { text = "hello", createdAt = "2026-12-05T00:00:00Z" } };

        // Requests that fail (the PDS drops the connection: 502) end, and their places with them.
        Pds.FailNext(CreateRecord, FakeFailure.DropConnection, times: 4);
        for (var i = 0; i < 4; i++)
        {
            using var dropped = await host.Http.PostAsJsonAsync($"/accounts/alice.test/xrpc/{CreateRecord}", record);
            Assert.Equal(HttpStatusCode.BadGateway, dropped.StatusCode);
        }

        Pds.FailNext(CreateRecord, FakeFailure.Hang, times: 3);
        using var giveUp = new CancellationTokenSource();
        var held = new[] { "alice.test", "Alice.Test", "ALICE.TEST" }
            .Select(name => host.Http.PostAsJsonAsync($"/accounts/{name}/xrpc/{CreateRecord}", record, giveUp.Token)).ToList();
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(Pds.CallCount(CreateRecord) == 7), TimeSpan.FromSeconds(10), "three posts held at the PDS");
        var waiting = new[] { "alice.TEST", "aLiCe.test", "ALICE.test" }
            .Select(name => host.Http.PostAsJsonAsync($"/accounts/{name}/xrpc/{CreateRecord}", record, giveUp.Token)).ToList();
        await Task.Delay(300);
        using (var seventh = await host.Http.PostAsJsonAsync($"/accounts/alice.TEST/xrpc/{CreateRecord}", record))
            Assert.Equal(HttpStatusCode.TooManyRequests, seventh.StatusCode);
        Assert.Equal(7, Pds.CallCount(CreateRecord));
        giveUp.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(held.Concat(waiting)));
    }

    [Fact]
    public async Task A_request_that_waited_request_timeout_for_a_place_is_answered_429_without_reaching_the_PDS()
    {
        await using var host = await StartHostAsync("supervisor.proxy.max-in-flight = 1\nsupervisor.accounts.request-timeout = 2s");
        var carol = await LoggedInAsync(host, "carol.test");
        const string GetSession = "com.atproto.server.getSession";
        var calls = Pds.CallCount(GetSession);

        // An answer that trickles until the test says (never 2 s silent) holds carol's one place all that time.
        Pds.FailNext(GetSession, FakeFailure.TrickleUntilReleased);
        var trickling = host.Http.GetAsync($"/accounts/{carol.Did}/xrpc/{GetSession}");
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(Pds.CallCount(GetSession) == calls + 1), TimeSpan.FromSeconds(10), "the first request at the PDS");

        var waited = System.Diagnostics.Stopwatch.StartNew();
        using (var refused = await host.Http.GetAsync($"/accounts/{carol.Did}/xrpc/{GetSession}"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.True(waited.Elapsed > TimeSpan.FromSeconds(1.5), $"refused after {waited.Elapsed.TotalSeconds:0.0} s, not after waiting request-timeout");
        }
        Assert.Equal(calls + 1, Pds.CallCount(GetSession));
        Pds.ReleaseHeldAnswers();
        using (var first = await trickling)
            Assert.Equal(FakePdsServer.TrickleBody, (await first.Content.ReadAsByteArrayAsync()).SkipWhile(b => b == (byte)' ').ToArray());
    }

    [Fact]
    public async Task A_refresh_token_replayed_by_the_dozen_asks_the_PDS_for_the_email_fields_no_more_at_once_than_the_accounts_requests_may()
    {
        await using var host = await StartHostAsync("supervisor.proxy.max-in-flight = 2");
        var dora = await LoggedInAsync(host, "dora.test");
        var (_, key) = await IssueKeyAsync(host, dora.Did);
        var (_, refresh) = await OpenKeySessionAsync(host, dora.Handle, key);
        const string GetSession = "com.atproto.server.getSession";
        var calls = Pds.CallCount(GetSession);

        // Twelve refreshes with one token at once: one rotation, eleven answered the same successor (the grace of a
        // refresh token); each answer wants the PDS's e-mail fields, and the PDS holds its getSession answers.
        Pds.FailNext(GetSession, FakeFailure.HeldUntilReleased, times: 12);
        var replays = Enumerable.Range(0, 12).Select(async _ =>
        {
            using var answer = await RefreshKeySessionAsync(host, refresh);
            return answer.StatusCode;
        }).ToList();

        // Two took the account's places; the others wait for them (two) or go without the fields: the PDS is asked by two.
        await SupervisorSpec.EventuallyAsync(() => Task.FromResult(Pds.CallCount(GetSession) == calls + 2), TimeSpan.FromSeconds(15), "two getSession calls at the PDS");
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(calls + 2, Pds.CallCount(GetSession));

        // Every one is answered (its session is not lost for the fields).
        Pds.ReleaseHeldAnswers();
        Assert.All(await Task.WhenAll(replays), status => Assert.Equal(HttpStatusCode.OK, status));
    }

    [Fact]
    public void A_limit_below_one_is_a_configuration_error_and_the_default_is_64()
    {
        Assert.Equal(64, Supervisor.Host.Proxy.ProxySettings.From(null).MaxInFlight);
        var error = Assert.Throws<Akka.Configuration.ConfigurationException>(() =>
            Supervisor.Host.Proxy.ProxySettings.From(Akka.Configuration.ConfigurationFactory.ParseString("max-in-flight = 0")));
        Assert.Contains("supervisor.proxy.max-in-flight", error.Message);
    }
}
