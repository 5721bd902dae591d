using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Account;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.RealPds;

/// <summary>The host as a real process, SIGKILLed while refreshes are in flight, against the real PDS.</summary>
[Collection(ProcessOutageCollection.Name)]
public sealed class ProcessKillSpec(RealPdsServer pds, ITestOutputHelper output)
{
    [Theory]
    [InlineData(JournalKind.Sqlite)]
    [InlineData(JournalKind.Postgres)]
    public async Task Sessions_survive_repeated_sigkills_during_refreshes_without_a_new_login(JournalKind journal)
    {
        using var folder = new TestJournal(journal);
        var environment = folder.HostEnvironment();
        environment["SUPERVISOR_HOCON"] = "supervisor.accounts { backoff-min = 200ms, backoff-max = 2s, request-timeout = 20s }";
        await using var host = new SupervisorProcess(folder.Folder, environment);
        // Session calls go through a proxy that can hold a refresh's answer after the PDS has rotated the pair.
        await using var proxy = await RefreshHoldingProxy.StartAsync(pds.Url);
        await host.StartAsync();
        var accounts = new List<RealAccount>();
        for (var i = 0; i < 3; i++)
        {
            var account = await pds.CreateAccountAsync("k");
            accounts.Add(account);
            using var imported = await host.Http.PostAsJsonAsync("/accounts/import",
                new { session = account.SessionString(pds.Url), service = proxy.Url });
            Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
        }

        var initial = new Dictionary<string, int>();
        foreach (var account in accounts)
            initial[account.Did] = (await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}")).GetProperty("refreshCount").GetInt32();

        // The first kill lands for certain between the journaled intent and the new pair: the PDS has rotated
        // the pair, the host has not heard of it, and only the journaled RefreshStarted tells it to replay.
        var first = accounts[0];
        var lost = proxy.HoldNextRefresh();
        var refreshing = host.Http.PostAsync($"/accounts/{first.Did}/refresh", null);
        var rotated = await lost.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((200, first.Did), (rotated.Status, rotated.Did));
        var rows = JournalRows.Read(folder, AccountSessionActor.PersistenceIdFor(first.Did));
        var intent = rows.FindLastIndex(r => r.Manifest.StartsWith("RefreshStarted.", StringComparison.Ordinal));
        Assert.True(intent >= 0, "the intent to refresh is journaled before the call");
        Assert.DoesNotContain(rows.Skip(intent + 1), r => r.Manifest.StartsWith("SessionRefreshed.", StringComparison.Ordinal));
        // The intent stands for the pair journaled before it: the refresh token sent is the one that pair holds.
        var pair = rows.Take(intent).Last(r => r.Manifest.StartsWith("SessionRefreshed.", StringComparison.Ordinal) || r.Manifest.StartsWith("SessionEstablished.", StringComparison.Ordinal));
        var sealedRefresh = JsonDocument.Parse(pair.Payload).RootElement.GetProperty("grant").GetProperty("tokens").GetProperty("refreshJwt").GetString()!;
        var cipher = new Supervisor.Actors.Serialization.TokenCipher([Convert.FromBase64String(TestJournal.TestKey)]);
        Assert.NotNull(rotated.SentTokenId);
        Assert.Equal(rotated.SentTokenId, Supervisor.Actors.Session.JwtClaims.TryRead(cipher.Decrypt(sealedRefresh), out _)?.TokenId);
        await host.KillAsync();
        await refreshing.ContinueWith(_ => { }, TaskScheduler.Default);
        await host.StartAsync();
        await EventuallyAsync(() => Task.FromResult(proxy.Refreshes.Count(r => r.Did == first.Did && r.SentTokenId == rotated.SentTokenId) == 2),
            TimeSpan.FromSeconds(20), "the refresh cut off by the kill to be replayed");
        var replay = proxy.Refreshes.Last(r => r.Did == first.Did && r.SentTokenId == rotated.SentTokenId);
        // The same old token, and the PDS answers it with the successor the lost call got.
        Assert.Equal((200, rotated.AnsweredTokenId), (replay.Status, replay.AnsweredTokenId));
        Assert.Contains(host.Output.Split('\n'), l => l.Contains(first.Did) && l.Contains("replaying the refresh"));
        await EventuallyAsync(async () => (await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{first.Did}")).GetProperty("refreshCount").GetInt32() > initial[first.Did],
            TimeSpan.FromSeconds(10), "the replayed refresh to be journaled");

        // Then kills at random moments while every account refreshes.
        var random = new Random(42);
        for (var cycle = 0; cycle < 4; cycle++)
        {
            var inFlight = accounts.Select(a => host.Http.PostAsync($"/accounts/{a.Did}/refresh", null)).ToList();
            await Task.Delay(random.Next(0, 400));
            await host.KillAsync();
            await Task.WhenAll(inFlight.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
            await host.StartAsync();
            output.WriteLine($"cycle {cycle}: restarted");
            await Task.Delay(random.Next(500, 3000));
        }

        await Task.Delay(pds.AccessTokenLifetime);
        foreach (var account in accounts)
        {
            using var answer = await host.Http.GetAsync($"/accounts/{account.Handle}/xrpc/com.atproto.server.getSession");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            var status = await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}");
            Assert.Equal("Active", status.GetProperty("state").GetString());
            Assert.Equal(0, status.GetProperty("loginCount").GetInt32());
            Assert.True(status.GetProperty("refreshCount").GetInt32() > initial[account.Did], "refreshes were journaled across the kills");
        }
        output.WriteLine($"replayed refreshes cut off by a kill: {host.Output.Split('\n').Count(l => l.Contains("replaying the refresh"))}");
        Assert.Empty(Secrets.JwtsIn(host.Output));
    }

    [Fact]
    public async Task An_account_woken_from_its_rest_and_killed_mid_refresh_starts_with_the_host_and_replays_the_refresh()
    {
        using var folder = new TestJournal(JournalKind.Sqlite);
        var environment = folder.HostEnvironment();
        environment["SUPERVISOR_HOCON"] = "supervisor.accounts { passivate-after = 2s, active-window = 1s, request-timeout = 20s }";
        await using var host = new SupervisorProcess(folder.Folder, environment);
        await using var proxy = await RefreshHoldingProxy.StartAsync(pds.Url);
        await host.StartAsync();
        var account = await pds.CreateAccountAsync("w");
        using (var imported = await host.Http.PostAsJsonAsync("/accounts/import", new { session = account.SessionString(pds.Url), service = proxy.Url }))
            Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
        // Idle, it rests: its bucket journals its rest, due again only when its keep-alive or refresh is.
        await EventuallyAsync(async () => !(await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}")).TryGetProperty("node", out _),
            TimeSpan.FromSeconds(30), "the account to rest");

        // A request wakes it, and a refresh is cut off by a kill after the PDS rotated the pair.
        using (var woken = await host.Http.GetAsync($"/accounts/{account.Did}/xrpc/com.atproto.server.getSession"))
            Assert.Equal(HttpStatusCode.OK, woken.StatusCode);
        var lost = proxy.HoldNextRefresh();
        var refreshing = host.Http.PostAsync($"/accounts/{account.Did}/refresh", null);
        var rotated = await lost.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(200, rotated.Status);
        await host.KillAsync();
        await refreshing.ContinueWith(_ => { }, TaskScheduler.Default);

        // Started with the host, not when next due: the lost refresh is replayed within the PDS's grace, asked by nobody.
        await host.StartAsync();
        await EventuallyAsync(() => Task.FromResult(proxy.Refreshes.Count(r => r.Did == account.Did && r.SentTokenId == rotated.SentTokenId) == 2),
            TimeSpan.FromSeconds(30), "the refresh cut off by the kill to be replayed");
        Assert.Equal(200, proxy.Refreshes.Last(r => r.Did == account.Did).Status);
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (await condition()) return;
            await Task.Delay(200);
        }
        Assert.Fail($"timed out after {timeout.TotalSeconds} s waiting for {what}");
    }
}
