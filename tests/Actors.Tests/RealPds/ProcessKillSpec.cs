using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.RealPds;

/// <summary>The host as a real process, SIGKILLed while refreshes are in flight, against the real PDS.</summary>
[Collection(RealPdsCollection.Name)]
public sealed class ProcessKillSpec(RealPdsServer pds, ITestOutputHelper output)
{
    [Theory]
    [InlineData(JournalKind.Sqlite)]
    [InlineData(JournalKind.Postgres)]
    public async Task Sessions_survive_repeated_sigkills_during_refreshes_without_a_new_login(JournalKind journal)
    {
        using var folder = new TestJournal(journal);
        var environment = folder.HostEnvironment();
        environment["SUPERVISOR_HOCON"] = "supervisor.accounts { backoff-min = 200ms, backoff-max = 2s, request-timeout = 5s }";
        await using var host = new SupervisorProcess(folder.Folder, environment);
        await host.StartAsync();
        var accounts = new List<RealAccount>();
        for (var i = 0; i < 3; i++)
        {
            var account = await pds.CreateAccountAsync("k");
            accounts.Add(account);
            using var imported = await host.Http.PostAsJsonAsync("/accounts/import",
                new { session = $"{account.Handle}:::{account.Did}:::{account.AccessJwt}:::{account.RefreshJwt}:::{pds.Url}" });
            Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
        }

        var initial = new Dictionary<string, int>();
        foreach (var account in accounts)
            initial[account.Did] = (await host.Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}")).GetProperty("refreshCount").GetInt32();
        var random = new Random(42);
        for (var cycle = 0; cycle < 5; cycle++)
        {
            // Refreshes in flight: ask every account to refresh, then kill at a random moment.
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
}
