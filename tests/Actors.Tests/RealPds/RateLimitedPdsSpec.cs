using System.Net.Http.Json;
using Supervisor.Actors.Account;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.RealPds;

/// <summary>The limits of the real PDS started with PDS_RATE_LIMITS_ENABLED=true, with the standard login budget.</summary>
[Collection(RateLimitedPdsCollection.Name)]
public sealed class RateLimitedPdsSpec(RateLimitedPdsServer pds, ITestOutputHelper output)
    : SupervisorSpec(new TestJournal(), output)
{
    private static readonly HttpClient Direct = new() { Timeout = TimeSpan.FromSeconds(30) };

    private async Task<int> DirectLoginStatusAsync(string identifier)
    {
        using var answer = await Direct.PostAsJsonAsync($"{pds.Url}/xrpc/com.atproto.server.createSession", new { identifier, password = "wrong" });
        return (int)answer.StatusCode;
    }

    [Fact]
    public async Task The_login_budget_is_the_servers_own_and_the_31st_login_is_refused_locally_before_the_server_would()
    {
        var account = await pds.CreateAccountAsync("b");
        var started = DateTimeOffset.UtcNow;
        // Thirty failed logins at once: each is counted, and the server answers each itself.
        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => AskAsync(new Login(pds.Url, account.Handle, "wrong"))));
        Assert.All(answers, a => Assert.Equal(SessionRejection.InvalidCredentials, Assert.IsType<SessionRejected>(a).Reason));

        var refused = Assert.IsType<SessionRejected>(await AskAsync(new Login(pds.Url, account.Handle, account.Password)));
        Assert.Equal(SessionRejection.RateLimited, refused.Reason);
        Assert.InRange(refused.RetryNotBefore!.Value, started.AddMinutes(5), DateTimeOffset.UtcNow.AddMinutes(5));
        Assert.Contains("30 per 5m", refused.Error.Message);
        // The server agrees: its own budget for this identifier is spent too.
        Assert.Equal(429, await DirectLoginStatusAsync(account.Handle));
    }

    [Fact]
    public async Task An_idle_account_is_refreshed_before_its_refresh_token_expires_and_outlives_it()
    {
        // This PDS issues refresh tokens of 60 s (PDS_TEST_REFRESH_JWT_TTL): the keep-alive comes in their last third.
        var account = await pds.CreateAccountAsync("k");
        var started = Assert.IsType<SessionStarted>(await AskAsync(new ImportSession(
            account.SessionString(pds.Url), Validate: false))).Status;
        var firstExpiry = started.RefreshExpiresAt!.Value;
        Assert.InRange(firstExpiry - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(61));

        await EventuallyAsync(async () => (await StatusAsync(account.Did)).RefreshCount == 1, TimeSpan.FromSeconds(70), "the keep-alive refresh");
        var kept = await StatusAsync(account.Did);
        Assert.True(kept.LastRefreshAt < firstExpiry, "refreshed before the refresh token expired");
        Assert.True(kept.RefreshExpiresAt > firstExpiry);

        await Task.Delay(firstExpiry - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(2));
        Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
        Assert.Equal(Supervisor.Actors.Protocol.AccountStateName.Active, (await StatusAsync(account.Did)).State);
    }

    /// <summary>What an unauthenticated call reads of this IP's global budget at the server: remaining and reset.</summary>
    private async Task<(int Remaining, DateTimeOffset Reset)> GlobalBudgetAsync()
    {
        using var answer = await Direct.GetAsync($"{pds.Url}/xrpc/com.atproto.server.describeServer");
        return (int.Parse(answer.Headers.GetValues("RateLimit-Remaining").First()),
            DateTimeOffset.FromUnixTimeSeconds(long.Parse(answer.Headers.GetValues("RateLimit-Reset").First())));
    }

    [Fact]
    public async Task A_429_from_the_server_on_login_says_when_to_retry_and_the_session_calls_read_its_headers()
    {
        var account = await pds.CreateAccountAsync("r");
        var windowBefore = (await GlobalBudgetAsync()).Reset;
        // Another client behind the same IP spends this identifier's budget at the server.
        var direct = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => DirectLoginStatusAsync(account.Handle)));
        Assert.All(direct, status => Assert.Equal(401, status));

        var refused = Assert.IsType<SessionRejected>(await AskAsync(new Login(pds.Url, account.Handle, account.Password)));
        Assert.Equal(SessionRejection.RateLimited, refused.Reason);
        Assert.Equal(("RateLimitExceeded", "Rate Limit Exceeded"), (refused.Error.Error, refused.Error.Message));
        Assert.InRange(refused.RetryNotBefore!.Value, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(5).AddSeconds(1));

        // An import of the same account works, and its calls count against the server's shared budget.
        var imported = Assert.IsType<SessionStarted>(await AskAsync(new ImportSession(
            account.SessionString(pds.Url))));
        Assert.Equal(Supervisor.Actors.Protocol.AccountStateName.Active, imported.Status.State);
        for (var i = 0; i < 3; i++) Assert.Equal(200, (await CallAsync(account.Did, GetSession)).Status);
        // Requests go to the PDS of the DID document (http://localhost:PORT), session calls to the login service.
        var pdsHost = new Uri(imported.Status.Pds!).Authority;
        var server = Assert.Single(Limits.Snapshot(DateTimeOffset.UtcNow), s => s.Server == pdsHost);
        var (remainingAfter, windowAfter) = await GlobalBudgetAsync();
        Assert.Equal(3000, server.Limit);
        Assert.NotNull(server.Reset);
        // The 30 direct logins count against this IP's global budget at the server, and the supervisor never
        // saw them: a remaining below 3000 - 30 and the server's own reset can only come from its headers.
        // (Unless the server's 5-minute window turned during the test: then there is nothing to compare.)
        if (windowAfter - windowBefore < TimeSpan.FromSeconds(2))
        {
            Assert.InRange(server.Remaining, remainingAfter + 1, 3000 - 30 - 3);
            Assert.InRange(server.Reset!.Value, windowAfter.AddSeconds(-1), windowAfter.AddSeconds(1));
        }
        else
        {
            Akka.Event.LoggingExtensions.Info(Sys.Log, "The server's rate-limit window turned during the test: remaining and reset not compared");
        }
        Assert.Equal(1, server.Accounts);
    }
}
