using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.RealPds;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Cluster;

/// <summary>
/// Three hosts as real processes on loopback form one cluster on one PostgreSQL journal, the real PDS behind them:
/// any node answers for any account, and when a node is SIGKILLed its accounts answer from the others, with no session
/// lost and no new login.
/// </summary>
[Collection(ProcessOutageCollection.Name)]
public sealed class NodeLossSpec(RealPdsServer pds, ITestOutputHelper output)
{
    private const string GetSession = "com.atproto.server.getSession";

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task<bool> AnswersAsync(SupervisorProcess node, string did)
    {
        try
        {
            using var answer = await node.Http.GetAsync($"/accounts/{did}/xrpc/{GetSession}");
            return answer.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    [Fact]
    public async Task A_killed_nodes_accounts_answer_from_the_others_with_no_session_lost_and_no_new_login()
    {
        using var journal = new TestJournal(JournalKind.Postgres);
        var remoting = Enumerable.Range(0, 3).Select(_ => FreePort()).ToList();
        var seeds = string.Join(",", remoting.Select(p => $"127.0.0.1:{p}"));
        var nodes = new List<SupervisorProcess>();
        try
        {
            foreach (var port in remoting)
            {
                var environment = journal.HostEnvironment();
                environment["SUPERVISOR_CLUSTER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
                environment["SUPERVISOR_CLUSTER_SEEDS"] = seeds;
                environment["SUPERVISOR_HOCON"] = "supervisor.accounts { backoff-min = 200ms, backoff-max = 2s }";
                var folder = Directory.CreateDirectory(Path.Combine(journal.Folder, "node-" + port)).FullName;
                nodes.Add(new SupervisorProcess(folder, environment));
            }
            await Task.WhenAll(nodes.Select(n => n.StartAsync()));

            var accounts = new List<RealAccount>();
            for (var i = 0; i < 6; i++)
            {
                var account = await pds.CreateAccountAsync("c");
                accounts.Add(account);
                using var imported = await nodes[i % 3].Http.PostAsJsonAsync("/accounts/import",
                    new { session = $"{account.Handle}:::{account.Did}:::{account.AccessJwt}:::{account.RefreshJwt}:::{pds.Url}", service = pds.Url });
                Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
            }

            // Any node answers for any account.
            foreach (var node in nodes)
                foreach (var account in accounts)
                    Assert.True(await AnswersAsync(node, account.Did), $"{account.Did} through node {nodes.IndexOf(node)}");

            // The node that owns most accounts is killed.
            var owners = new Dictionary<string, string>();
            foreach (var account in accounts)
                owners[account.Did] = (await nodes[0].Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}")).GetProperty("node").GetString()!;
            var victimAddress = owners.Values.GroupBy(n => n).OrderByDescending(g => g.Count()).First().Key;
            var victim = nodes[remoting.FindIndex(p => victimAddress.EndsWith(":" + p, StringComparison.Ordinal))];
            var survivors = nodes.Where(n => n != victim).ToList();
            var moved = owners.Where(o => o.Value == victimAddress).Select(o => o.Key).ToList();
            output.WriteLine($"killing the node at {victimAddress}, owner of {moved.Count} of {accounts.Count} accounts");

            var clock = Stopwatch.StartNew();
            await victim.KillAsync();
            var waiting = accounts.Select(a => a.Did).ToHashSet();
            while (waiting.Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(90))
            {
                foreach (var did in waiting.ToList())
                    if (await AnswersAsync(survivors[0], did) && await AnswersAsync(survivors[1], did)) waiting.Remove(did);
                if (waiting.Count > 0) await Task.Delay(250);
            }
            output.WriteLine($"failover: every account answered from the survivors {clock.Elapsed.TotalSeconds:0.0} s after the kill");
            Assert.Empty(waiting);

            // Nothing was lost: no new login, every session refreshes on (past its access token's lifetime) and answers.
            await Task.Delay(pds.AccessTokenLifetime + TimeSpan.FromSeconds(2));
            foreach (var account in accounts)
            {
                var status = await survivors[0].Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}");
                Assert.Equal("Active", status.GetProperty("state").GetString());
                Assert.Equal(0, status.GetProperty("loginCount").GetInt32());
                Assert.NotEqual(victimAddress, status.GetProperty("node").GetString());
                foreach (var node in survivors) Assert.True(await AnswersAsync(node, account.Did), $"{account.Did} after the failover");
            }
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }
}
