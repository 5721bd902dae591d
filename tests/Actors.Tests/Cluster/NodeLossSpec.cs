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
/// any node answers for any account; when a node is SIGKILLed its accounts answer from the others, and when one is
/// stopped with SIGTERM its accounts are handed over, with no session lost and no new login.
/// </summary>
[Collection(ProcessOutageCollection.Name)]
public sealed class NodeLossSpec(RealPdsServer pds, ITestOutputHelper output)
{
    private const string GetSession = "com.atproto.server.getSession";

    private sealed record LocalCluster(TestJournal Journal, List<SupervisorProcess> Nodes, List<int> RemotingPorts, List<RealAccount> Accounts) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var node in Nodes) await node.DisposeAsync();
            Journal.Dispose();
        }

        /// <summary>The node that runs most accounts, its address, and the accounts it runs.</summary>
        public async Task<(SupervisorProcess Node, string Address, List<string> Accounts)> BusiestAsync()
        {
            var owners = await OwnersAsync();
            var address = owners.Values.GroupBy(n => n).OrderByDescending(g => g.Count()).First().Key;
            return (NodeAt(address), address, owners.Where(o => o.Value == address).Select(o => o.Key).ToList());
        }

        /// <summary>The address of the node that runs each account, by DID.</summary>
        public async Task<Dictionary<string, string>> OwnersAsync()
        {
            var owners = new Dictionary<string, string>();
            foreach (var account in Accounts)
                owners[account.Did] = (await Nodes[0].Http.GetFromJsonAsync<JsonElement>($"/accounts/{account.Did}")).GetProperty("node").GetString()!;
            return owners;
        }

        /// <summary>The oldest member (it hosts the shard coordinators) and its address.</summary>
        public async Task<(SupervisorProcess Node, string Address)> OldestAsync()
        {
            var address = (await Nodes[0].Http.GetFromJsonAsync<JsonElement>("/status")).GetProperty("cluster").GetProperty("oldest").GetString()!;
            return (NodeAt(address), address);
        }

        private SupervisorProcess NodeAt(string address) => Nodes[RemotingPorts.FindIndex(p => address.EndsWith(":" + p, StringComparison.Ordinal))];
    }

    /// <summary>Whether the account answers getSession through the node within 5 s.</summary>
    private static async Task<bool> AnswersAsync(SupervisorProcess node, string did)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            using var answer = await node.Http.GetAsync($"/accounts/{did}/xrpc/{GetSession}", timeout.Token);
            return answer.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private async Task<LocalCluster> StartClusterAsync(string? service = null)
    {
        var journal = new TestJournal(JournalKind.Postgres);
        var (nodes, remoting) = ClusterProcesses.Create(journal, 3, "supervisor.accounts { backoff-min = 200ms, backoff-max = 2s }");
        var cluster = new LocalCluster(journal, nodes, remoting, []);
        await Task.WhenAll(nodes.Select(n => n.StartAsync()));
        for (var i = 0; i < 6; i++) await AddAccountAsync(cluster, nodes[i % 3], service);
        // Any node answers for any account.
        foreach (var node in nodes)
            foreach (var account in cluster.Accounts)
                Assert.True(await AnswersAsync(node, account.Did), $"{account.Did} through node {nodes.IndexOf(node)}");
        return cluster;
    }

    /// <summary>A new account on the PDS, its session imported through <paramref name="via"/>.</summary>
    private async Task AddAccountAsync(LocalCluster cluster, SupervisorProcess via, string? service)
    {
        var account = await pds.CreateAccountAsync("c");
        cluster.Accounts.Add(account);
        using var imported = await via.Http.PostAsJsonAsync("/accounts/import",
            new { session = account.SessionString(pds.Url), service = service ?? pds.Url });
        Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
    }

    /// <summary>After a token lifetime: no new login, every session refreshed on and answers through every survivor.</summary>
    private async Task NothingLostAsync(LocalCluster cluster, List<SupervisorProcess> survivors, string goneAddress)
    {
        await Task.Delay(pds.AccessTokenLifetime + TimeSpan.FromSeconds(2));
        foreach (var account in cluster.Accounts)
        {
            foreach (var node in survivors) Assert.True(await AnswersAsync(node, account.Did), $"{account.Did} after the node left");
            var status = await SettledStatusAsync(survivors[0], account.Did);
            Assert.Equal("Active", status.GetProperty("state").GetString());
            Assert.Equal(0, status.GetProperty("loginCount").GetInt32());
            Assert.NotEqual(goneAddress, status.GetProperty("node").GetString());
        }
    }

    /// <summary>
    /// The account's status once it is not in the middle of a refresh (short tokens refresh every few seconds, and a
    /// status read can fall inside one): the state it settles in within 10 s.
    /// </summary>
    private static async Task<JsonElement> SettledStatusAsync(SupervisorProcess node, string did)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var status = await node.Http.GetFromJsonAsync<JsonElement>($"/accounts/{did}");
            if (status.GetProperty("state").GetString() != "Refreshing" || clock.Elapsed > TimeSpan.FromSeconds(10)) return status;
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task A_killed_nodes_accounts_answer_from_the_others_with_no_session_lost_and_no_new_login()
    {
        await using var cluster = await StartClusterAsync();
        var (victim, address, moved) = await cluster.BusiestAsync();
        var survivors = cluster.Nodes.Where(n => n != victim).ToList();
        output.WriteLine($"killing the node at {address}, owner of {moved.Count} of {cluster.Accounts.Count} accounts");

        var clock = Stopwatch.StartNew();
        await victim.KillAsync();
        var waiting = cluster.Accounts.Select(a => a.Did).ToHashSet();
        while (waiting.Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            foreach (var did in waiting.ToList())
                if (await AnswersAsync(survivors[0], did) && await AnswersAsync(survivors[1], did)) waiting.Remove(did);
            if (waiting.Count > 0) await Task.Delay(250);
        }
        output.WriteLine($"failover: every account answered from the survivors {clock.Elapsed.TotalSeconds:0.0} s after the kill");
        Assert.Empty(waiting);
        await NothingLostAsync(cluster, survivors, address);

        // The node comes back (same address, a new incarnation) and joins again; it answers for every account.
        await victim.StartAsync();
        var rejoined = Stopwatch.StartNew();
        while (rejoined.Elapsed < TimeSpan.FromSeconds(60) && await UpMembersAsync(survivors[0]) < 3) await Task.Delay(500);
        Assert.Equal(3, await UpMembersAsync(survivors[0]));
        foreach (var account in cluster.Accounts) Assert.True(await AnswersAsync(victim, account.Did), $"{account.Did} through the node that came back");
    }

    private static async Task<int> UpMembersAsync(SupervisorProcess node) =>
        (await node.Http.GetFromJsonAsync<JsonElement>("/status")).GetProperty("cluster").GetProperty("members").EnumerateArray()
            .Count(m => m.GetProperty("status").GetString() == "Up");

    [Fact]
    public async Task A_node_stopped_with_sigterm_hands_its_accounts_over_with_no_failed_request()
    {
        await using var cluster = await StartClusterAsync();
        var (leaving, address, moved) = await cluster.BusiestAsync();
        var staying = cluster.Nodes.Where(n => n != leaving).ToList();
        output.WriteLine($"stopping the node at {address}, owner of {moved.Count} of {cluster.Accounts.Count} accounts");

        // Requests through the nodes that stay, all along the hand-over.
        var failures = new List<string>();
        var served = 0;
        using var stop = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                var did = cluster.Accounts[i % cluster.Accounts.Count].Did;
                var node = staying[i++ % staying.Count];
                using var answer = await node.Http.GetAsync($"/accounts/{did}/xrpc/{GetSession}");
                if (answer.StatusCode == HttpStatusCode.OK) Interlocked.Increment(ref served);
                else
                {
                    var body = await answer.Content.ReadAsStringAsync();
                    lock (failures) failures.Add($"{did}: {(int)answer.StatusCode} {body}");
                }
            }
        });
        await Task.Delay(1000);
        var clock = Stopwatch.StartNew();
        try
        {
            // A hand-over waits for refreshes in flight (request-timeout, 30 s, at most).
            Assert.Equal(0, await leaving.TerminateAsync(TimeSpan.FromSeconds(90)));
        }
        finally
        {
            output.WriteLine(string.Join('\n', leaving.Output.Split('\n').TakeLast(40)));
        }
        output.WriteLine($"hand-off: the node exited {clock.Elapsed.TotalSeconds:0.0} s after SIGTERM");
        await Task.Delay(TimeSpan.FromSeconds(3));
        await stop.CancelAsync();
        await load;
        output.WriteLine($"{served} requests served during the hand-over");
        Assert.Empty(failures);
        Assert.True(served > 20, $"only {served} requests were served");
        await NothingLostAsync(cluster, staying, address);
    }

    [Fact]
    public async Task A_paused_node_never_sends_a_refresh_token_that_another_node_took_over()
    {
        // Every refresh of every node passes this proxy, which records the refresh token each one sent.
        await using var proxy = await RefreshHoldingProxy.StartAsync(pds.Url);
        await using var cluster = await StartClusterAsync(proxy.Url);
        // The oldest node, the worst one to pause: it hosts the shard coordinators, so when it wakes up seeing the others
        // unreachable it could hand itself their shards. It runs two accounts at least.
        var (paused, address) = await cluster.OldestAsync();
        while ((await cluster.OwnersAsync()).Count(o => o.Value == address) < 2 && cluster.Accounts.Count < 24) await AddAccountAsync(cluster, paused, proxy.Url);
        var moved = (await cluster.OwnersAsync()).Where(o => o.Value == address).Select(o => o.Key).ToList();
        var others = cluster.Nodes.Where(n => n != paused).ToList();
        output.WriteLine($"pausing the oldest node, at {address}, owner of {moved.Count} of {cluster.Accounts.Count} accounts");

        // The accounts are kept active (a request every moment), so they refresh ahead of their short access tokens.
        using var stop = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await AnswersAsync(others[i % 2], cluster.Accounts[i % cluster.Accounts.Count].Did);
                await Task.Delay(50);
            }
        });
        await Task.Delay(TimeSpan.FromSeconds(2));
        var pausedProcess = paused.ProcessId;
        var pausedAt = DateTimeOffset.UtcNow;
        paused.Pause(true);
        var clock = Stopwatch.StartNew();
        // Past the failure detector and the split-brain resolver: the others take its accounts over and refresh them.
        while (clock.Elapsed < TimeSpan.FromSeconds(90) && !(await Task.WhenAll(moved.Select(d => AnswersAsync(others[0], d)))).All(ok => ok))
            await Task.Delay(500);
        output.WriteLine($"taken over {clock.Elapsed.TotalSeconds:0.0} s after the pause");
        await Task.Delay(pds.AccessTokenLifetime + TimeSpan.FromSeconds(2));
        // It wakes up with its timers due: it must not refresh what it held.
        var resumedAt = DateTimeOffset.UtcNow;
        paused.Pause(false);
        // Requests still reach it (a load balancer has not noticed yet): for every account, its own and the others'.
        await Task.WhenAll(cluster.Accounts.Select(a => AnswersAsync(paused, a.Did)));
        await Task.Delay(pds.AccessTokenLifetime + TimeSpan.FromSeconds(5));
        await stop.CancelAsync();
        await load;

        var refreshes = proxy.Refreshes.Where(r => r.Status == 200 && r.SentTokenId is not null).ToList();
        output.WriteLine($"{refreshes.Count} refreshes; the paused node {(paused.HasExited ? "has stopped" : "still runs")}");
        string Describe(ProxiedRefresh r) =>
            $"{r.Did} token {r.SentTokenId?[..8]} from {(r.SenderProcess == pausedProcess ? "the paused node" : r.SenderProcess is null ? "an unknown process" : $"process {r.SenderProcess}")} " +
            $"{(r.ArrivedAt < pausedAt ? "before the pause" : r.ArrivedAt < resumedAt ? "during the pause" : "after SIGCONT")}";
        foreach (var group in refreshes.GroupBy(r => r.SentTokenId).Where(g => g.Count() > 1))
            output.WriteLine("used twice: " + string.Join("; ", group.Select(Describe)));
        foreach (var r in refreshes.Where(r => r.SenderProcess == pausedProcess && r.ArrivedAt >= resumedAt)) output.WriteLine("after SIGCONT: " + Describe(r) + " at " + r.ArrivedAt.ToString("HH:mm:ss.fff"));
        output.WriteLine("resumed at " + resumedAt.ToString("HH:mm:ss.fff"));
        output.WriteLine(string.Join('\n', paused.Output.Split('\n').TakeLast(150)));
        // After SIGCONT the paused node refreshes nothing: it no longer owns its accounts (and has been downed).
        Assert.Empty(refreshes.Where(r => r.SenderProcess == pausedProcess && r.ArrivedAt >= resumedAt).Select(Describe));
        // No token is used twice, except the one refresh that was in flight on the paused node when it froze: its answer
        // was never journaled, so the new owner retries it with the same token, as the PDS's grace window allows.
        var reused = refreshes.GroupBy(r => r.SentTokenId)
            .Where(g => g.Count() > 1 && !(g.Count() == 2 && g.First().SenderProcess == pausedProcess && g.Last().SenderProcess != pausedProcess && g.Last().ArrivedAt < resumedAt))
            .Select(g => string.Join("; ", g.Select(Describe))).ToList();
        Assert.Empty(reused);
        Assert.True(refreshes.Count(r => moved.Contains(r.Did!)) >= moved.Count, "the accounts taken over refreshed on the other nodes");
        // Nor did it take an account on (journal its ownership) once it had been paused.
        foreach (var account in cluster.Accounts)
        {
            var claims = JournalRows.Read(cluster.Journal, "account-" + account.Did).Where(r => r.Manifest.StartsWith("OwnerClaimed.", StringComparison.Ordinal))
                .Select(r => JsonSerializer.Deserialize<JsonElement>(r.Payload))
                .Select(c => (Node: c.GetProperty("node").GetString()!, At: c.GetProperty("at").GetDateTimeOffset())).ToList();
            if (moved.Contains(account.Did)) Assert.Contains(claims, c => !c.Node.StartsWith(address + "#", StringComparison.Ordinal));
            Assert.DoesNotContain(claims, c => c.Node.StartsWith(address + "#", StringComparison.Ordinal) && c.At > pausedAt);
        }
        foreach (var account in cluster.Accounts)
        {
            Assert.True(await AnswersAsync(others[0], account.Did), $"{account.Did} after the paused node came back");
            var status = await SettledStatusAsync(others[0], account.Did);
            Assert.Equal((0, "Active"), (status.GetProperty("loginCount").GetInt32(), status.GetProperty("state").GetString()));
        }
    }
}
