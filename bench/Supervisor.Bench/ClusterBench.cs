using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Supervisor.Host.Configuration;

namespace Supervisor.Bench;

/// <summary>
/// Three supervisor nodes as processes on loopback, one cluster on one PostgreSQL database, the bench PDS behind them,
/// N imported accounts: getSession requests a second through one node and through all three; the journal's writes per
/// refresh (PostgreSQL's own counters); the failover time after a SIGKILL of the node that runs most accounts (until
/// every account answers through both survivors) and the rejoin; the hand-off when a node is stopped with SIGTERM under
/// load (its time and the failed requests); and the CPU each process used, which is what limits it on a small machine.
/// </summary>
public static class ClusterBench
{
    private static readonly TimeSpan PollTimeout = TimeSpan.FromSeconds(2);

    public static async Task RunAsync(int count, int workers, TimeSpan duration)
    {
        if (Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_POSTGRES") is not { Length: > 0 })
            throw new InvalidOperationException("SUPERVISOR_BENCH_POSTGRES is not set (bench/run cluster starts PostgreSQL and sets it)");
        await using var pds = await BenchPds.StartAsync();
        using var journal = new BenchJournal(JournalKind.Postgres);
        var clock = Stopwatch.StartNew();
        await using var cluster = await BenchCluster.StartAsync(3, journal.ConnectionString);
        Console.WriteLine($"cluster: 3 nodes Up {clock.Elapsed.TotalSeconds:0.0} s after their start (processes {string.Join(", ", cluster.Nodes.Select(n => n!.Pid))}); {Machine.LoadAverage()}");

        var dids = Enumerable.Range(0, count).Select(Accounts.Did).ToList();
        clock.Restart();
        var retried = await ImportAsync(cluster, pds.Url, count);
        Console.WriteLine($"imported {count} accounts over HTTP (round robin over the nodes) in {clock.Elapsed.TotalSeconds:0.0} s; {retried} imports answered 503 and were tried again");
        var owners = await cluster.OwnersAsync(0, dids);
        Console.WriteLine("accounts by node: " + Distribution(cluster, owners));
        Console.WriteLine("node memory (RSS): " + string.Join(", ", cluster.Nodes.Select((n, i) => $"node {i + 1} {ProcessMemory.Of(n!.Pid).RssKb / 1024.0:0} MiB")));
        Console.WriteLine(await IdleCpuAsync(cluster, "node CPU with no request, just after the import"));

        // SUPERVISOR_BENCH_CLUSTER=handoff: only the hand-off under load (3).
        if (Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_CLUSTER") == "handoff")
        {
            Console.WriteLine();
            await HandOffAsync(cluster, dids, owners, workers);
            return;
        }

        // (1) Requests a second.
        Console.WriteLine();
        Console.WriteLine($"(1) getSession, {workers} concurrent loops, {duration.TotalSeconds:0} s each after 2 s of warm-up, a random account each time");
        Console.WriteLine("cpu ms/req: the bench process (client and bench PDS), then the nodes together (node 1 + node 2 + node 3); busy: of the machine's cores");
        var counter = 0L;
        var local = dids.Where(d => cluster.IndexOf(owners[d]) == 0).ToList();
        var remote = dids.Where(d => cluster.IndexOf(owners[d]) != 0).ToList();
        // New processes: one unreported run through all three first, so that the JIT's later tiers are in place.
        await LoadResult.MeasureAsync("warm-up", workers, duration, () => cluster.AnswersAsync((int)(Interlocked.Increment(ref counter) % 3), Pick(dids), TimeSpan.FromSeconds(30)));
        var runs = new List<(string Name, Func<Task<bool>> Send)>
        {
            ("through node 1", () => cluster.AnswersAsync(0, Pick(dids), TimeSpan.FromSeconds(30))),
            ("through 3 nodes (round robin)", () => cluster.AnswersAsync((int)(Interlocked.Increment(ref counter) % 3), Pick(dids), TimeSpan.FromSeconds(30))),
        };
        if (local.Count > 0) runs.Add(("node 1, accounts it runs", () => cluster.AnswersAsync(0, Pick(local), TimeSpan.FromSeconds(30))));
        if (remote.Count > 0) runs.Add(("node 1, accounts elsewhere", () => cluster.AnswersAsync(0, Pick(remote), TimeSpan.FromSeconds(30))));
        for (var round = 1; round <= 2; round++)
        {
            Console.WriteLine($"round {round}: {Machine.LoadAverage()}");
            foreach (var (name, send) in runs) Console.WriteLine(await MeasureAsync(cluster, name, workers, duration, send));
        }
        Console.WriteLine(Machine.LoadAverage());
        Console.WriteLine(await IdleCpuAsync(cluster, "node CPU with no request, warm"));

        // Journal writes of one refresh of every account (POST /accounts/{id}/refresh), from PostgreSQL's statistics.
        Console.WriteLine();
        await JournalWritesPerRefreshAsync(cluster, journal.ConnectionString, dids, 1);
        // Steady state: past the 50th event of an account, a snapshot, and the events and snapshot before it deleted.
        await JournalWritesPerRefreshAsync(cluster, journal.ConnectionString, dids.Take(10).ToList(), 30);

        // (2) Failover after a SIGKILL.
        Console.WriteLine();
        owners = await cluster.OwnersAsync(0, dids);
        await FailoverAsync(cluster, dids, owners, workers);

        // (3) Hand-off on SIGTERM.
        Console.WriteLine();
        owners = await cluster.OwnersAsync(0, dids);
        var left = await HandOffAsync(cluster, dids, owners, workers);

        // The same without load: the node comes back, shards move to it, then it is stopped again with no request in flight.
        Console.WriteLine();
        clock.Restart();
        await cluster.StartNodeAsync(left);
        await cluster.WaitForMembersAsync((left + 1) % 3, 3, TimeSpan.FromMinutes(3));
        Console.WriteLine($"node {left + 1} started again, Up after {clock.Elapsed.TotalSeconds:0.0} s; 60 s without requests for the shards to settle");
        await Task.Delay(TimeSpan.FromSeconds(60));
        await QuietHandOffAsync(cluster, dids, await cluster.OwnersAsync((left + 1) % 3, dids));

        Console.WriteLine();
        Console.WriteLine($"bench PDS over the whole run: createSession {pds.Calls("com.atproto.server.createSession")} (new logins), " +
                          $"refreshSession {pds.Calls("com.atproto.server.refreshSession")}, getSession {pds.Calls("com.atproto.server.getSession")}");
    }

    /// <summary>Imports the accounts through the nodes in turn; a 503 (the journal not answering yet) is tried again. The retries.</summary>
    private static async Task<int> ImportAsync(BenchCluster cluster, string pdsUrl, int count)
    {
        var now = DateTimeOffset.UtcNow;
        var retries = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var did = Accounts.Did(i);
            var (access, refresh) = BenchJwt.Pair(did, now, now.AddHours(2));
            for (var attempt = 1; ; attempt++)
            {
                using var answer = await cluster.Nodes[i % 3]!.Http.PostAsJsonAsync("/accounts/import",
                    // The handle the bench PDS reports for the DID, so that a refresh journals no handle change.
                    new { session = $"{did[8..]}.bench:::{did}:::{access}:::{refresh}:::{pdsUrl}", service = pdsUrl, validate = false });
                if (answer.StatusCode == HttpStatusCode.Created) return;
                // The answer names an error, never a token.
                if (answer.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 10)
                    throw new InvalidOperationException($"import {i} answered {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
                Interlocked.Increment(ref retries);
                await Task.Delay(1000);
            }
        });
        return retries;
    }

    private static string Pick(List<string> dids) => dids[Random.Shared.Next(dids.Count)];

    private static string Distribution(BenchCluster cluster, Dictionary<string, string> owners) =>
        string.Join(", ", owners.Values.GroupBy(o => o).OrderBy(g => cluster.IndexOf(g.Key))
            .Select(g => (cluster.IndexOf(g.Key) is var i and >= 0 ? $"node {i + 1}" : g.Key) + $" {g.Count()}"));

    /// <summary>One load run with the CPU of the bench process and of each node over its measured part.</summary>
    private static async Task<string> MeasureAsync(BenchCluster cluster, string name, int workers, TimeSpan duration, Func<Task<bool>> send)
    {
        var self = Process.GetCurrentProcess();
        TimeSpan benchCpu = default;
        var nodeCpu = new TimeSpan[3];
        var result = await LoadResult.MeasureAsync(name, workers, duration, send, measuring: () =>
        {
            self.Refresh();
            benchCpu = self.TotalProcessorTime;
            for (var i = 0; i < 3; i++) nodeCpu[i] = cluster.Nodes[i]!.CpuTime;
        });
        self.Refresh();
        var bench = (self.TotalProcessorTime - benchCpu).TotalMilliseconds;
        var nodes = Enumerable.Range(0, 3).Select(i => (cluster.Nodes[i]!.CpuTime - nodeCpu[i]).TotalMilliseconds).ToArray();
        var busy = (bench + nodes.Sum()) / result.Duration.TotalMilliseconds / Environment.ProcessorCount;
        return $"{result}   cpu ms/req: bench {bench / result.Requests:0.000}, nodes {nodes.Sum() / result.Requests:0.000} " +
               $"({string.Join(" + ", nodes.Select(n => (n / result.Requests).ToString("0.000")))})   busy {busy:P0}";
    }

    /// <summary>Each node's CPU over 10 s without a request (gossip, heartbeats, the journal probe, timers, the runtime).</summary>
    private static async Task<string> IdleCpuAsync(BenchCluster cluster, string name)
    {
        var before = cluster.Nodes.Select(n => n!.CpuTime).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(10));
        return $"{name} (10 s): " + string.Join(", ", cluster.Nodes.Select((n, i) => $"node {i + 1} {(n!.CpuTime - before[i]).TotalMilliseconds / 100:0.0} % of a core")) + $"; {Machine.LoadAverage()}";
    }

    /// <summary>
    /// Refreshes each of <paramref name="dids"/> <paramref name="rounds"/> times in a row (POST /accounts/{id}/refresh, 8 accounts
    /// at a time) and prints the rows written by table and the transactions, per refresh, from PostgreSQL's statistics; the
    /// transactions of the nodes' own background (journal probes) are measured over an idle window first and taken off.
    /// </summary>
    private static async Task JournalWritesPerRefreshAsync(BenchCluster cluster, string connection, List<string> dids, int rounds)
    {
        // PostgreSQL flushes a backend's counters at most once a second while busy, and 10 s after it went idle.
        await Task.Delay(TimeSpan.FromSeconds(12));
        var (_, idleFrom) = await DatabaseWritesAsync(connection);
        var idle = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(12));
        var (before, transactionsBefore) = await DatabaseWritesAsync(connection);
        var background = (transactionsBefore - idleFrom) / idle.Elapsed.TotalSeconds;
        var clock = Stopwatch.StartNew();
        var failed = 0;
        await Parallel.ForEachAsync(dids.Select((did, i) => (did, i)), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (a, _) =>
        {
            for (var round = 0; round < rounds; round++)
            {
                using var answer = await cluster.Client.PostAsync($"{cluster.Nodes[(a.i + round) % 3]!.Url}/accounts/{a.did}/refresh", null);
                if (!answer.IsSuccessStatusCode) Interlocked.Increment(ref failed);
            }
        });
        var took = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(12));
        var (after, transactionsAfter) = await DatabaseWritesAsync(connection);
        var window = clock.Elapsed.TotalSeconds;
        var refreshes = (double)dids.Count * rounds;
        Console.WriteLine($"journal writes per refresh: {dids.Count} accounts refreshed {rounds} time(s) each (POST /accounts/{{id}}/refresh, 8 accounts at a time) in " +
                          $"{took.TotalSeconds:0.0} s, {failed} failed; per refresh, from PostgreSQL's statistics:");
        foreach (var (table, (ins, upd, del)) in after.OrderBy(t => t.Key))
        {
            var (i0, u0, d0) = before.GetValueOrDefault(table);
            if (ins - i0 + upd - u0 + del - d0 == 0) continue;
            Console.WriteLine($"  rows of {table,-20} inserted {(ins - i0) / refreshes,6:0.00}   updated {(upd - u0) / refreshes,6:0.00}   deleted {(del - d0) / refreshes,6:0.00}");
        }
        Console.WriteLine($"  transactions (one a statement outside a transaction) {(transactionsAfter - transactionsBefore - background * window) / refreshes:0.00} " +
                          $"({transactionsAfter - transactionsBefore} in the {window:0} s window, less {background:0.0} a second of background measured idle before)");
    }

    private static async Task<(Dictionary<string, (long Inserted, long Updated, long Deleted)> Tables, long Transactions)> DatabaseWritesAsync(string connection)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        var writes = new Dictionary<string, (long, long, long)>();
        await using (var query = new NpgsqlCommand("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables", db))
        await using (var reader = await query.ExecuteReaderAsync())
            while (await reader.ReadAsync()) writes[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
        await using var transactions = new NpgsqlCommand("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()", db);
        return (writes, Convert.ToInt64(await transactions.ExecuteScalarAsync()));
    }

    private static (int Index, string Address, List<string> Accounts) Busiest(BenchCluster cluster, Dictionary<string, string> owners)
    {
        var address = owners.Values.Where(a => cluster.IndexOf(a) >= 0).GroupBy(a => a).OrderByDescending(g => g.Count()).First().Key;
        return (cluster.IndexOf(address), address, owners.Where(o => o.Value == address).Select(o => o.Key).ToList());
    }

    private static async Task FailoverAsync(BenchCluster cluster, List<string> dids, Dictionary<string, string> owners, int workers)
    {
        var (victim, address, moved) = Busiest(cluster, owners);
        var survivors = Enumerable.Range(0, 3).Where(i => i != victim).ToArray();
        var leader = await cluster.LeaderAsync(victim);
        Console.WriteLine($"(2) failover: SIGKILL of node {victim + 1} ({(leader == address ? "the cluster's leader" : "not the leader")}), which runs {moved.Count} of {dids.Count} accounts ({Distribution(cluster, owners)}); " +
                          $"{Math.Max(2, workers / 4)} loops of getSession through the survivors meanwhile (5 s timeout a request); every account polled " +
                          $"through both survivors ({PollTimeout.TotalSeconds:0} s timeout a request) until it answers");
        var load = new ClusterLoad(cluster, Math.Max(2, workers / 4), TimeSpan.FromSeconds(5), (_, i) => (survivors[(int)(i % 2)], Pick(dids)));
        await Task.Delay(TimeSpan.FromSeconds(5));

        var killedAt = load.Clock.Elapsed;
        var clock = Stopwatch.StartNew();
        var gone = cluster.Nodes[victim]!;
        await gone.KillAsync();
        cluster.Nodes[victim] = null;
        await gone.DisposeAsync();

        // What the survivors see of the cluster meanwhile: when the node is unreachable, when it is downed and removed.
        TimeSpan? unreachableAt = null, removedAt = null, answeredStatusAt = null;
        using var watching = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested && removedAt is null)
            {
                try
                {
                    var (_, members, unreachable) = await cluster.MembersAsync(survivors[0], PollTimeout);
                    answeredStatusAt ??= clock.Elapsed;
                    if (unreachable > 0) unreachableAt ??= clock.Elapsed;
                    if (members == 2 && unreachable == 0) removedAt = clock.Elapsed;
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
                {
                    // a slow answer: asked again
                }
                await Task.Delay(100);
            }
        });

        var answeredAt = new ConcurrentDictionary<string, TimeSpan>();
        var waiting = dids.ToList();
        while (waiting.Count > 0 && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            await Parallel.ForEachAsync(waiting, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (did, _) =>
            {
                if (await cluster.AnswersAsync(survivors[0], did, PollTimeout) && await cluster.AnswersAsync(survivors[1], did, PollTimeout))
                    answeredAt[did] = clock.Elapsed;
            });
            waiting = waiting.Where(d => !answeredAt.ContainsKey(d)).ToList();
            if (waiting.Count > 0) await Task.Delay(250);
        }
        var failover = clock.Elapsed;
        var doneAt = load.Clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(10));
        await watching.CancelAsync();
        await watcher;
        var endAt = load.Clock.Elapsed;
        var samples = await load.StopAsync();

        var movedTimes = moved.Where(answeredAt.ContainsKey).Select(d => answeredAt[d].TotalSeconds).Order().ToArray();
        var otherTimes = dids.Except(moved).Where(answeredAt.ContainsKey).Select(d => answeredAt[d].TotalSeconds).Order().ToArray();
        Console.WriteLine(waiting.Count == 0
            ? $"failover: every account answered through both survivors {failover.TotalSeconds:0.0} s after the kill"
            : $"failover: {waiting.Count} accounts still did not answer {failover.TotalSeconds:0.0} s after the kill");
        Console.WriteLine($"  the killed node's {moved.Count} accounts: first {At(movedTimes, 0)} s, median {At(movedTimes, 0.5)} s, last {At(movedTimes, 1)} s; " +
                          $"the other {dids.Count - moved.Count}: first {At(otherTimes, 0)} s, median {At(otherTimes, 0.5)} s, last {At(otherTimes, 1)} s");
        Console.WriteLine($"  a survivor's /status ({PollTimeout.TotalSeconds:0} s timeout, every 0.1 s) first answered at {Seconds(answeredStatusAt)} s; it showed the node " +
                          $"unreachable at {Seconds(unreachableAt)} s, and downed and removed at {Seconds(removedAt)} s");
        Console.WriteLine("  " + ClusterLoad.Describe("load before the kill", samples, TimeSpan.Zero, killedAt));
        Console.WriteLine("  " + ClusterLoad.Describe("load until every account answered", samples, killedAt, doneAt));
        Console.WriteLine("  " + ClusterLoad.Describe("load in the 10 s after", samples, doneAt, endAt));

        clock.Restart();
        await cluster.StartNodeAsync(victim);
        var ready = clock.Elapsed;
        await cluster.WaitForMembersAsync(survivors[0], 3, TimeSpan.FromMinutes(3));
        Console.WriteLine($"rejoin: node {victim + 1} started again, ready after {ready.TotalSeconds:0.0} s, Up in the cluster after {clock.Elapsed.TotalSeconds:0.0} s");

        // Sharding moves shards to the node that came back (a hand-off of each): the load through all three meanwhile.
        load = new ClusterLoad(cluster, workers, TimeSpan.FromSeconds(10), (_, i) => ((int)(i % 3), Pick(dids)));
        await Task.Delay(TimeSpan.FromSeconds(60));
        samples = await load.StopAsync();
        Console.WriteLine($"after the rejoin: {workers} loops of getSession through the three nodes (10 s timeout a request), by 10 s window");
        for (var w = 0; w < 6; w++)
            Console.WriteLine("  " + ClusterLoad.Describe($"{w * 10,2} to {w * 10 + 10} s after it was Up", samples, TimeSpan.FromSeconds(w * 10), TimeSpan.FromSeconds(w * 10 + 10)));
        Console.WriteLine("  accounts by node then: " + Distribution(cluster, await cluster.OwnersAsync(0, dids)));
    }

    /// <summary>SIGTERM to the busiest node under load; the node that left.</summary>
    private static async Task<int> HandOffAsync(BenchCluster cluster, List<string> dids, Dictionary<string, string> owners, int workers)
    {
        var (leaving, address, moved) = Busiest(cluster, owners);
        var staying = Enumerable.Range(0, 3).Where(i => i != leaving).ToArray();
        Console.WriteLine($"(3) hand-off: SIGTERM to node {leaving + 1}, which runs {moved.Count} of {dids.Count} accounts ({Distribution(cluster, owners)}); " +
                          $"{workers} loops of getSession through the two other nodes meanwhile (10 s timeout a request)");
        var load = new ClusterLoad(cluster, workers, TimeSpan.FromSeconds(10), (_, i) => (staying[(int)(i % 2)], Pick(dids)));
        await Task.Delay(TimeSpan.FromSeconds(5));
        var stoppedAt = load.Clock.Elapsed;
        var node = cluster.Nodes[leaving]!;
        var exitCode = await node.TerminateAsync(TimeSpan.FromMinutes(3));
        var exitedAt = load.Clock.Elapsed;
        cluster.Nodes[leaving] = null;
        await node.DisposeAsync();
        await Task.Delay(TimeSpan.FromSeconds(10));
        var endAt = load.Clock.Elapsed;
        var samples = await load.StopAsync();

        Console.WriteLine($"hand-off: the node exited with {exitCode} {(exitedAt - stoppedAt).TotalSeconds:0.0} s after SIGTERM");
        Console.WriteLine("  " + ClusterLoad.Describe("load before SIGTERM", samples, TimeSpan.Zero, stoppedAt));
        Console.WriteLine("  " + ClusterLoad.Describe("load from SIGTERM to the exit", samples, stoppedAt, exitedAt));
        Console.WriteLine("  " + ClusterLoad.Describe("load in the 10 s after", samples, exitedAt, endAt));
        var slow = samples.Where(s => s.Start >= stoppedAt && s.Ms > 1000).ToList();
        if (slow.Count > 0)
            Console.WriteLine($"  {slow.Count} requests took over 1 s, started between {(slow[0].Start - stoppedAt).TotalSeconds:0.0} and {(slow[^1].Start - stoppedAt).TotalSeconds:0.0} s after SIGTERM");
        var after = await cluster.OwnersAsync(staying[0], moved);
        Console.WriteLine($"  the leaving node's accounts now: {Distribution(cluster, after)}; {after.Values.Count(a => a == address)} still name the gone node");
        return leaving;
    }

    /// <summary>SIGTERM to the busiest node with no request in flight, then each of its accounts asked once through the others.</summary>
    private static async Task QuietHandOffAsync(BenchCluster cluster, List<string> dids, Dictionary<string, string> owners)
    {
        var (leaving, _, moved) = Busiest(cluster, owners);
        var staying = Enumerable.Range(0, 3).Where(i => i != leaving).ToArray();
        Console.WriteLine($"(3b) hand-off without load: SIGTERM to node {leaving + 1}, which runs {moved.Count} of {dids.Count} accounts ({Distribution(cluster, owners)})");
        var clock = Stopwatch.StartNew();
        var node = cluster.Nodes[leaving]!;
        var exitCode = await node.TerminateAsync(TimeSpan.FromMinutes(3));
        var exited = clock.Elapsed;
        cluster.Nodes[leaving] = null;
        await node.DisposeAsync();
        var answered = 0;
        await Parallel.ForEachAsync(moved.Select((did, i) => (did, i)), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (a, _) =>
        {
            if (await cluster.AnswersAsync(staying[a.i % 2], a.did, TimeSpan.FromSeconds(10))) Interlocked.Increment(ref answered);
        });
        Console.WriteLine($"hand-off without load: the node exited with {exitCode} {exited.TotalSeconds:0.0} s after SIGTERM; then {answered} of its {moved.Count} accounts " +
                          $"answered at the first request through the other nodes (10 s timeout), all asked by {clock.Elapsed.TotalSeconds:0.0} s");
    }

    private static string At(double[] sorted, double p) => sorted.Length == 0 ? "-" : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))].ToString("0.0");

    private static string Seconds(TimeSpan? at) => at is { } t ? t.TotalSeconds.ToString("0.0") : "(not seen)";
}
