using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.RealPds;

/// <summary>
/// The PostgreSQL journal goes away while accounts are busy: the host (a real process) keeps serving with
/// the tokens in memory, refreshes meanwhile, shows the journal as degraded, and journals what it held once
/// the database is back, so that a SIGKILL right after loses nothing. Real PDS, real PostgreSQL of its own.
/// </summary>
[Collection(ProcessOutageCollection.Name)]
public sealed class JournalOutageSpec(RealPdsServer pds, ITestOutputHelper output)
{
    [Fact]
    public async Task A_journal_outage_loses_no_refresh_and_needs_no_new_login()
    {
        await using var postgres = await PostgresCluster.CreateAsync();
        using var folder = new TestJournal();
        await using var host = new SupervisorProcess(folder.Folder, new Dictionary<string, string>
        {
            ["SUPERVISOR_KEY"] = TestJournal.TestKey,
            ["SUPERVISOR_JOURNAL"] = "postgres",
            ["SUPERVISOR_POSTGRES"] = postgres.ConnectionString,
            ["SUPERVISOR_HOCON"] = "supervisor.accounts { journal-probe-interval = 300ms, backoff-min = 200ms, backoff-max = 2s, request-timeout = 5s }",
        });
        await host.StartAsync();
        var accounts = new List<RealAccount>();
        for (var i = 0; i < 3; i++)
        {
            var account = await pds.CreateAccountAsync("j");
            accounts.Add(account);
            using var imported = await host.Http.PostAsJsonAsync("/accounts/import",
                new { session = account.SessionString(pds.Url) });
            Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
        }
        // Fresh pairs for all, so that no refresh is due in the moment the database goes away.
        foreach (var account in accounts)
            using (var refreshed = await host.Http.PostAsync($"/accounts/{account.Did}/refresh", null))
                Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var before = await RefreshCountsAsync(host, accounts);

        await postgres.StopAsync();
        await EventuallyAsync(async () => await JournalStateAsync(host) == "Degraded", TimeSpan.FromSeconds(10), "the journal to show as degraded");

        // Two and a half token lifetimes of traffic: every call is served, the pairs rotate in memory.
        var until = DateTime.UtcNow + pds.AccessTokenLifetime * 2.5;
        var calls = 0;
        while (DateTime.UtcNow < until)
        {
            foreach (var account in accounts)
            {
                using var answer = await host.Http.GetAsync($"/accounts/{account.Handle}/xrpc/com.atproto.server.getSession");
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                calls++;
            }
            await Task.Delay(500);
        }
        var during = await RefreshCountsAsync(host, accounts);
        var status = await host.Http.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal("Degraded", status.GetProperty("journal").GetProperty("state").GetString());
        foreach (var account in accounts) Assert.True(during[account.Did] >= before[account.Did] + 2, "refreshes happen during the outage");
        Assert.True(status.GetProperty("unjournaledEvents").GetInt32() > 0, "refreshes are held in memory");
        output.WriteLine($"outage: {calls} calls served, {during.Values.Sum() - before.Values.Sum()} refreshes held in memory");

        await postgres.StartAsync();
        await EventuallyAsync(async () => await JournalStateAsync(host) == "Available", TimeSpan.FromSeconds(60), "the journal to be available again");
        await EventuallyAsync(async () =>
        {
            var all = await host.Http.GetFromJsonAsync<JsonElement>("/status");
            return all.GetProperty("unjournaledEvents").GetInt32() == 0;
        }, TimeSpan.FromSeconds(30), "the held events to be journaled");
        var journaled = await RefreshCountsAsync(host, accounts);

        // Nothing held in memory only: a SIGKILL now and a restart find every refresh in the journal.
        await host.KillAsync();
        await host.StartAsync();
        foreach (var account in accounts)
        {
            var after = await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}");
            Assert.Equal("Active", after.GetProperty("state").GetString());
            Assert.Equal(0, after.GetProperty("loginCount").GetInt32());
            Assert.True(after.GetProperty("refreshCount").GetInt32() >= journaled[account.Did]);
            using var answer = await host.Http.GetAsync($"/accounts/{account.Handle}/xrpc/com.atproto.server.getSession");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
        Assert.Empty(Secrets.JwtsIn(host.Output));
    }

    [Fact]
    public async Task A_process_killed_during_a_journal_outage_comes_back_with_a_working_session()
    {
        await using var postgres = await PostgresCluster.CreateAsync();
        using var folder = new TestJournal();
        await using var host = new SupervisorProcess(folder.Folder, new Dictionary<string, string>
        {
            ["SUPERVISOR_KEY"] = TestJournal.TestKey,
            ["SUPERVISOR_JOURNAL"] = "postgres",
            ["SUPERVISOR_POSTGRES"] = postgres.ConnectionString,
            ["SUPERVISOR_HOCON"] = "supervisor.accounts { journal-probe-interval = 300ms, backoff-min = 200ms, backoff-max = 2s, request-timeout = 5s }",
        });
        await host.StartAsync();
        await host.WaitUntilAccountsServeAsync();
        var account = await pds.CreateAccountAsync("o");
        using (var imported = await host.Http.PostAsJsonAsync("/accounts/import",
                   new { session = account.SessionString(pds.Url) }))
            Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
        var journaled = (await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}")).GetProperty("refreshCount").GetInt32();

        await postgres.StopAsync();
        await EventuallyAsync(async () => await JournalStateAsync(host) == "Degraded", TimeSpan.FromSeconds(10), "the journal to show as degraded");
        // The refresh happens in memory only: the PDS has rotated the pair, the journal still holds the old one.
        using (var refreshed = await host.Http.PostAsync($"/accounts/{account.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var during = await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}");
        Assert.Equal(journaled + 1, during.GetProperty("refreshCount").GetInt32());
        Assert.True(during.GetProperty("unjournaledEvents").GetInt32() > 0);

        await host.KillAsync();
        await postgres.StartAsync();
        // Past the access token the journal holds: the restarted account must refresh with its old refresh token.
        await Task.Delay(pds.AccessTokenLifetime);
        await host.StartAsync();
        await host.WaitUntilAccountsServeAsync();
        using (var answer = await host.Http.GetAsync($"/accounts/{account.Handle}/xrpc/com.atproto.server.getSession"))
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Contains(account.Did, await answer.Content.ReadAsStringAsync());
        }
        var after = await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}");
        Assert.Equal(("Active", 0), (after.GetProperty("state").GetString(), after.GetProperty("loginCount").GetInt32()));
        Assert.True(after.GetProperty("refreshCount").GetInt32() > journaled, "the restarted account refreshed with the journaled token");
        Assert.Empty(Secrets.JwtsIn(host.Output));
    }

    private static async Task<string?> JournalStateAsync(SupervisorProcess host) =>
        (await host.Http.GetFromJsonAsync<JsonElement>("/healthz")).GetProperty("journal").GetProperty("state").GetString();

    private static async Task<Dictionary<string, int>> RefreshCountsAsync(SupervisorProcess host, List<RealAccount> accounts)
    {
        var counts = new Dictionary<string, int>();
        foreach (var account in accounts)
            counts[account.Did] = (await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}")).GetProperty("refreshCount").GetInt32();
        return counts;
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
