using System.Diagnostics;
using System.Globalization;
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
        // Any node answers for any account (the first calls between three new processes may take their time).
        foreach (var node in nodes)
            foreach (var account in cluster.Accounts)
                await Support.SupervisorSpec.EventuallyAsync(() => AnswersAsync(node, account.Did), TimeSpan.FromSeconds(30),
                    $"{account.Did} through node {nodes.IndexOf(node)}");
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

    /// <summary>
    /// After a token lifetime: no new login, every session refreshed on and answers through every survivor, and none runs
    /// on the node at <paramref name="goneAddress"/> (when given).
    /// </summary>
    private async Task NothingLostAsync(LocalCluster cluster, List<SupervisorProcess> survivors, string? goneAddress)
    {
        await Task.Delay(pds.AccessTokenLifetime + TimeSpan.FromSeconds(2));
        foreach (var account in cluster.Accounts)
        {
            foreach (var node in survivors) Assert.True(await AnswersAsync(node, account.Did), $"{account.Did} after the node left");
            var status = await SettledStatusAsync(survivors[0], account.Did);
            Assert.Equal("Active", status.GetProperty("state").GetString());
            Assert.Equal(0, status.GetProperty("loginCount").GetInt32());
            if (goneAddress is not null) Assert.NotEqual(goneAddress, status.GetProperty("node").GetString());
        }
    }

    /// <summary>
    /// What the node at <c>Address</c> (process <c>Process</c>), lost at <c>At</c> (paused or cut off), did with the
    /// accounts <paramref name="moved"/> off it: it sent no refresh from <c>Quiet</c> on; no refresh token was used twice,
    /// except the one refresh in flight on it when it was lost (its answer was never journaled, so the new owner retries it
    /// with the same token, as the PDS's grace window allows); they refreshed on the others; and it journaled no ownership
    /// of any account once lost.
    /// </summary>
    private void AssertNoRefreshTokenUsedTwice(LocalCluster cluster, RefreshHoldingProxy proxy, (int Process, string Address, DateTimeOffset At) lost,
        List<string> moved, (DateTimeOffset At, string Name) quiet)
    {
        var refreshes = proxy.Refreshes.Where(r => r.Status == 200 && r.SentTokenId is not null).ToList();
        output.WriteLine($"{refreshes.Count} refreshes");
        string Describe(ProxiedRefresh r) =>
            $"{r.Did} token {r.SentTokenId?[..8]} from {(r.SenderProcess == lost.Process ? "the lost node" : r.SenderProcess is null ? "an unknown process" : $"process {r.SenderProcess}")} " +
            $"{(r.ArrivedAt < lost.At ? "before it was lost" : r.ArrivedAt < quiet.At ? "while it was lost" : quiet.Name)} at {r.ArrivedAt:HH:mm:ss.fff}";
        foreach (var group in refreshes.GroupBy(r => r.SentTokenId).Where(g => g.Count() > 1))
            output.WriteLine("used twice: " + string.Join("; ", group.Select(Describe)));
        Assert.Empty(refreshes.Where(r => r.SenderProcess == lost.Process && r.ArrivedAt >= quiet.At).Select(Describe));
        var reused = refreshes.GroupBy(r => r.SentTokenId)
            .Where(g => g.Count() > 1 && !(g.Count() == 2 && g.First().SenderProcess == lost.Process && g.Last().SenderProcess != lost.Process && g.Last().ArrivedAt < quiet.At))
            .Select(g => string.Join("; ", g.Select(Describe))).ToList();
        Assert.Empty(reused);
        Assert.True(refreshes.Count(r => moved.Contains(r.Did!)) >= moved.Count, "the accounts taken over refreshed on the other nodes");
        foreach (var account in cluster.Accounts)
        {
            var claims = JournalRows.Read(cluster.Journal, "account-" + account.Did).Where(r => r.Manifest.StartsWith("OwnerClaimed.", StringComparison.Ordinal))
                .Select(r => JsonSerializer.Deserialize<JsonElement>(r.Payload))
                .Select(c => (Node: c.GetProperty("node").GetString()!, At: c.GetProperty("at").GetDateTimeOffset())).ToList();
            if (moved.Contains(account.Did)) Assert.Contains(claims, c => !c.Node.StartsWith(lost.Address + "#", StringComparison.Ordinal));
            Assert.DoesNotContain(claims, c => c.Node.StartsWith(lost.Address + "#", StringComparison.Ordinal) && c.At > lost.At);
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

    [Fact]
    public async Task Keys_key_sessions_and_the_audit_trail_serve_from_the_others_once_the_node_that_ran_them_is_killed()
    {
        await using var cluster = await StartClusterAsync();
        var (oldest, address) = await cluster.OldestAsync();
        var others = cluster.Nodes.Where(n => n != oldest).ToList();
        var account = cluster.Accounts[0];
        output.WriteLine($"killing the oldest node at {address}, which runs the keys' and the audit trail's singletons");

        // A key issued and a key session opened through a node that stays, both kept by the singletons on the oldest.
        using var issued = await others[0].Http.PostAsJsonAsync("/keys", new { account = account.Did });
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        var key = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        TestSecrets.Register("account-key", key);
        using var anonymous = new HttpClient();
        using var login = await anonymous.PostAsJsonAsync($"{others[0].Http.BaseAddress}xrpc/com.atproto.server.createSession", new { identifier = account.Did, password = key });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var refreshJwt = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refreshJwt").GetString()!;
        TestSecrets.Register("key-session-refresh", refreshJwt);

        await oldest.KillAsync();

        // Once the oldest is downed, the singletons start on the new oldest from their journals. A key session's refresh
        // sent at once, before the others notice the node gone (sent to the singleton there, it is lost with it), is asked
        // again of the next owner and answered; then a new key is issued, the first key still works, and the audit trail
        // holds what came before the kill.
        using (var refresh = new HttpRequestMessage(HttpMethod.Post, $"{others[1].Http.BaseAddress}xrpc/com.atproto.server.refreshSession"))
        {
            refresh.Headers.Authorization = new("Bearer", refreshJwt);
            var clock = Stopwatch.StartNew();
            using var answer = await anonymous.SendAsync(refresh);
            output.WriteLine($"the key session's refresh answered {(int)answer.StatusCode} {clock.Elapsed.TotalSeconds:0.0} s after the kill");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
        using (var again = await others[1].Http.PostAsJsonAsync("/keys", new { account = account.Did }))
            Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        using (var call = new HttpRequestMessage(HttpMethod.Get, $"/accounts/{account.Did}/xrpc/{GetSession}"))
        {
            call.Headers.Authorization = new("Bearer", key);
            using var answer = await others[1].Http.SendAsync(call);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
        var actions = (await others[0].Http.GetFromJsonAsync<JsonElement>("/audit?limit=1000")).EnumerateArray()
            .Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal((2, 1), (actions.Count(a => a == "KeyIssued"), actions.Count(a => a == "KeySessionOpened")));
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
        var (paused, address, moved) = await OldestWithAccountsAsync(cluster, proxy);
        var others = cluster.Nodes.Where(n => n != paused).ToList();
        output.WriteLine($"pausing the oldest node, at {address}, owner of {moved.Count} of {cluster.Accounts.Count} accounts");
        using var stop = new CancellationTokenSource();
        var load = KeepActiveAsync(cluster, others, stop.Token);
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

        output.WriteLine(string.Join('\n', paused.Output.Split('\n').TakeLast(150)));
        output.WriteLine($"the paused node {(paused.HasExited ? "has stopped" : "still runs")}");
        // After SIGCONT the paused node refreshes nothing: it no longer owns its accounts (and has been downed).
        AssertNoRefreshTokenUsedTwice(cluster, proxy, (pausedProcess!.Value, address, pausedAt), moved, (resumedAt, "after SIGCONT"));
        foreach (var account in cluster.Accounts)
        {
            Assert.True(await AnswersAsync(others[0], account.Did), $"{account.Did} after the paused node came back");
            var status = await SettledStatusAsync(others[0], account.Did);
            Assert.Equal((0, "Active"), (status.GetProperty("loginCount").GetInt32(), status.GetProperty("state").GetString()));
        }
    }

    [Fact]
    public async Task A_node_cut_off_from_the_others_downs_itself_and_never_sends_a_refresh_token_they_took_over()
    {
        await using var proxy = await RefreshHoldingProxy.StartAsync(pds.Url);
        await using var cluster = await StartClusterAsync(proxy.Url);
        var (cut, address, moved) = await OldestWithAccountsAsync(cluster, proxy);
        var others = cluster.Nodes.Where(n => n != cut).ToList();
        output.WriteLine($"cutting the oldest node, at {address}, owner of {moved.Count} of {cluster.Accounts.Count} accounts, off from the others");
        using var stop = new CancellationTokenSource();
        var load = KeepActiveAsync(cluster, others, stop.Token);
        // Requests keep reaching the node cut off as well (its HTTP port, the journal and the PDS stay reachable): it keeps
        // trying to serve every account, its own and the others'.
        var loadOnCut = KeepActiveAsync(cluster, [cut], stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(2));

        var cutProcess = cut.ProcessId!.Value;
        var cutAt = DateTimeOffset.UtcNow;
        DateTimeOffset takenOverAt;
        var clock = Stopwatch.StartNew();
        var port = (SupervisorProcess node) => cluster.RemotingPorts[cluster.Nodes.IndexOf(node)];
        await using (await NetworkPartition.CutAsync(([cutProcess], [port(cut)]), (others.Select(n => n.ProcessId!.Value), others.Select(port))))
        {
            // Requests for the others' accounts sent to it now wait on owners it cannot reach: when it goes, each is
            // answered 503 at once, not left to a closed connection or its timeout.
            var stranded = cluster.Accounts.Select(a => a.Did).Except(moved).Select(did => StrandedAsync(cut, did)).ToList();
            // The others down it (they are the majority), take its accounts over and refresh them.
            while (clock.Elapsed < TimeSpan.FromSeconds(90) && !(await Task.WhenAll(moved.Select(d => AnswersAsync(others[0], d)))).All(ok => ok))
                await Task.Delay(500);
            takenOverAt = DateTimeOffset.UtcNow;
            output.WriteLine($"taken over {clock.Elapsed.TotalSeconds:0.0} s after the cut");
            // It downs itself (alone of three, it is the minority the split-brain resolver removes) and its process ends,
            // with the exit code that says so, a few seconds later (the requests waiting on it are not waited for long).
            while (clock.Elapsed < TimeSpan.FromSeconds(60) && !cut.HasExited) await Task.Delay(500);
            output.WriteLine(string.Join('\n', cut.Output.Split('\n').TakeLast(60)));
            output.WriteLine($"the node cut off {(cut.HasExited ? "stopped" : "still runs")} {clock.Elapsed.TotalSeconds:0.0} s after the cut");
            Assert.Equal(3, cut.ExitCode);
            Assert.Contains("Supervisor stopped: the cluster downed this node", cut.Output);
            Assert.All(await Task.WhenAll(stranded), answer => Assert.Equal("503 ShuttingDown", answer));
            await Task.Delay(pds.AccessTokenLifetime + TimeSpan.FromSeconds(2));
        }
        await stop.CancelAsync();
        await Task.WhenAll(load, loadOnCut);

        AssertNoRefreshTokenUsedTwice(cluster, proxy, (cutProcess, address, cutAt), moved, (takenOverAt, "after the others took over"));
        // The partition healed, the node starts again and joins; nothing was lost.
        await cut.StartAsync();
        var rejoined = Stopwatch.StartNew();
        while (rejoined.Elapsed < TimeSpan.FromSeconds(60) && await UpMembersAsync(others[0]) < 3) await Task.Delay(500);
        Assert.Equal(3, await UpMembersAsync(others[0]));
        foreach (var account in cluster.Accounts) Assert.True(await AnswersAsync(cut, account.Did), $"{account.Did} through the node that came back");
        await NothingLostAsync(cluster, cluster.Nodes, goneAddress: null);
    }

    [Fact]
    public async Task A_client_member_neither_keeps_nor_loses_a_side_when_the_network_splits_two_against_two()
    {
        await using var cluster = await StartClusterAsync();
        // The node with the lowest address and, below it, a member with the role client, cut off together from the other
        // two nodes. Were the member counted, two members against two would be a tie, which keep-majority settles for the
        // side with the lowest address: theirs. Counted by the role supervisor, it is one node against two.
        var lonePort = cluster.RemotingPorts.Min();
        var lone = cluster.Nodes[cluster.RemotingPorts.IndexOf(lonePort)];
        var others = cluster.Nodes.Where(n => n != lone).ToList();
        var memberPort = LoopbackPort.FreeBelow(lonePort);
        using var member = ClusterMemberProcess.Start("--seeds", string.Join(",", cluster.RemotingPorts.Select(p => $"127.0.0.1:{p}")),
            "--port", memberPort.ToString(CultureInfo.InvariantCulture), "--cert", Path.Combine(cluster.Journal.Folder, "cluster.pfx"),
            "--did", cluster.Accounts[0].Did, "--duration", "600");
        try
        {
            await member.WaitForLineAsync(l => l.StartsWith("status ", StringComparison.Ordinal), TimeSpan.FromSeconds(90));
        }
        finally
        {
            output.WriteLine(member.Output);
        }
        var gone = new[] { lonePort, memberPort }.Select(p => $"akka.ssl.tcp://supervisor@127.0.0.1:{p}").ToList();
        Assert.Equal(4, (await MembersAsync(others[0])).Count);
        Assert.Contains(gone[1], await MembersAsync(others[0]));

        var clock = Stopwatch.StartNew();
        var port = (SupervisorProcess node) => cluster.RemotingPorts[cluster.Nodes.IndexOf(node)];
        await using (await NetworkPartition.CutAsync(([lone.ProcessId!.Value, member.ProcessId], [lonePort, memberPort]),
                         (others.Select(n => n.ProcessId!.Value), others.Select(port))))
        {
            // The node on the member's side downs itself; the two others stay, remove both, and serve every account.
            while (clock.Elapsed < TimeSpan.FromSeconds(60) && !lone.HasExited) await Task.Delay(500);
            output.WriteLine(string.Join('\n', lone.Output.Split('\n').TakeLast(40)));
            output.WriteLine($"the node on the member's side {(lone.HasExited ? "stopped" : "still runs")} {clock.Elapsed.TotalSeconds:0.0} s after the cut");
            Assert.Equal(3, lone.ExitCode);
            while (clock.Elapsed < TimeSpan.FromSeconds(90) && !others.Any(n => n.HasExited) && (await MembersAsync(others[0])).Intersect(gone).Any())
                await Task.Delay(500);
            Assert.All(others, n => Assert.False(n.HasExited, "a node of the two was downed"));
            Assert.Empty((await MembersAsync(others[0])).Intersect(gone));
            var waiting = cluster.Accounts.Select(a => a.Did).ToHashSet();
            while (waiting.Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(120))
            {
                foreach (var did in waiting.ToList())
                    if (await AnswersAsync(others[0], did) && await AnswersAsync(others[1], did)) waiting.Remove(did);
                if (waiting.Count > 0) await Task.Delay(250);
            }
            output.WriteLine($"every account answered from the two {clock.Elapsed.TotalSeconds:0.0} s after the cut");
            Assert.Empty(waiting);
        }
        await NothingLostAsync(cluster, others, gone[0]);
    }

    /// <summary>The addresses of the cluster's members, as <paramref name="node"/> lists them.</summary>
    private static async Task<List<string>> MembersAsync(SupervisorProcess node) =>
        (await node.Http.GetFromJsonAsync<JsonElement>("/status")).GetProperty("cluster").GetProperty("members").EnumerateArray()
            .Select(m => m.GetProperty("address").GetString()!).ToList();

    /// <summary>The status and error of a getSession through <paramref name="node"/>, or what ended it without an answer (within 90 s).</summary>
    private static async Task<string> StrandedAsync(SupervisorProcess node, string did)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            using var answer = await node.Http.GetAsync($"/accounts/{did}/xrpc/{GetSession}", timeout.Token);
            var body = await answer.Content.ReadAsStringAsync(timeout.Token);
            var error = body.StartsWith('{') ? JsonDocument.Parse(body).RootElement.TryGetProperty("error", out var name) ? name.GetString() : null : body;
            return $"{(int)answer.StatusCode} {error}";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return $"no answer: {e.GetType().Name} {e.Message}";
        }
    }

    /// <summary>
    /// The oldest member (it hosts the shard coordinators: the worst one to lose, since a node that sees the others
    /// unreachable could hand itself their shards), its address, and the accounts it runs: two at least, added through
    /// <paramref name="proxy"/> when it runs fewer.
    /// </summary>
    private async Task<(SupervisorProcess Node, string Address, List<string> Accounts)> OldestWithAccountsAsync(LocalCluster cluster, RefreshHoldingProxy proxy)
    {
        var (oldest, address) = await cluster.OldestAsync();
        while ((await cluster.OwnersAsync()).Count(o => o.Value == address) < 2 && cluster.Accounts.Count < 24) await AddAccountAsync(cluster, oldest, proxy.Url);
        return (oldest, address, (await cluster.OwnersAsync()).Where(o => o.Value == address).Select(o => o.Key).ToList());
    }

    /// <summary>
    /// Keeps every account active through <paramref name="nodes"/> (a request every moment, in turn), so that they refresh
    /// ahead of their short access tokens, until <paramref name="stop"/>.
    /// </summary>
    private static Task KeepActiveAsync(LocalCluster cluster, List<SupervisorProcess> nodes, CancellationToken stop) => Task.Run(async () =>
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            await AnswersAsync(nodes[i % nodes.Count], cluster.Accounts[i % cluster.Accounts.Count].Did);
            await Task.Delay(50, CancellationToken.None);
        }
    });
}
