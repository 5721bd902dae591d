using System.Diagnostics;
using Akka.Actor;
using Supervisor.Actors.Pds;
using Supervisor.Host.Configuration;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Bench;

/// <summary>
/// A start with N journaled accounts at rest (imported, idle, passivated, as they are after 5 minutes without a
/// request), a new ActorSystem on the same journal (a one-node cluster, the sharded design), and what a start costs:
/// the time until the supervisor answers (its registry buckets recovered: "ready"), how long requests to accounts
/// picked at random take after that (each starts its account, which reads its own journal), how many accounts run
/// (read their journal) once ready, and whether keep-alive refreshes that fall due in the first minutes happen on
/// time: 20 more accounts have refresh tokens that expire about 90 s after the start (their keep-alive is due in the
/// last third of that lifetime), and each must be refreshed before its token expires.
/// </summary>
public static class RecoveryBench
{
    private const int DueSoon = 20;

    public static async Task RunAsync(int[] sizes, JournalKind[] journals)
    {
        await using var pds = await BenchPds.StartAsync();
        Console.WriteLine("recovery of accounts at rest (imported sessions, local bench PDS, a one-node cluster)");
        Console.WriteLine("journal    accounts   import s   to ready ms   requests after ready p50/max ms   running at ready   keep-alives before expiry: done (last, before expiry)   logins");
        foreach (var kind in journals)
        {
            foreach (var n in sizes)
            {
                using var journal = new BenchJournal(kind);
                var (system, accounts) = journal.Start(BenchJournal.Resting);
                var import = await Accounts.ImportAsync(accounts, pds.Url, n, DateTimeOffset.UtcNow.AddHours(2));
                await Accounts.WaitForRestAsync(accounts, n);
                // DueSoon more accounts whose refresh tokens expire about 90 s after the restart.
                var expiry = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(100);
                await Accounts.ImportAsync(accounts, pds.Url, DueSoon, DateTimeOffset.UtcNow.AddHours(2), first: n, refreshExp: expiry);
                await Accounts.WaitForRestAsync(accounts, n + DueSoon);
                await system.Terminate();
                var refreshes = pds.Calls("com.atproto.server.refreshSession");
                var logins = pds.Calls("com.atproto.server.createSession");

                var clock = Stopwatch.StartNew();
                (system, accounts) = journal.Start(BenchJournal.Resting);
                try
                {
                    await accounts.Ask<SupervisorCounts>(GetSupervisorCounts.Instance, TimeSpan.FromMinutes(5));
                    var ready = clock.Elapsed;
                    var running = (await accounts.Ask<AccountCounts>(GetAccountCounts.Instance, TimeSpan.FromMinutes(1))).Running;
                    var latencies = new List<double>();
                    var random = new Random(n);
                    for (var i = 0; i < 20; i++)
                    {
                        var asked = Stopwatch.StartNew();
                        var answer = await accounts.Ask<object>(new CallXrpc(Accounts.Did(random.Next(n)), XrpcRequest.Query("com.atproto.server.getSession")), TimeSpan.FromMinutes(1));
                        if (answer is not XrpcResponse { Status: 200 }) throw new InvalidOperationException($"a request after the start answered {answer}");
                        latencies.Add(asked.Elapsed.TotalMilliseconds);
                    }
                    latencies.Sort();
                    var startedAt = DateTimeOffset.UtcNow - clock.Elapsed;
                    while (pds.Calls("com.atproto.server.refreshSession") - refreshes < DueSoon && DateTimeOffset.UtcNow < expiry) await Task.Delay(100);
                    var lastKeepAlive = expiry - DateTimeOffset.UtcNow;
                    var keptAlive = pds.Calls("com.atproto.server.refreshSession") - refreshes;
                    Console.WriteLine($"{kind,-8}   {n,8}   {import.TotalSeconds,8:0.0}   {ready.TotalMilliseconds,11:0}   {latencies[latencies.Count / 2],15:0.0} / {latencies[^1],-15:0.0}   " +
                                      $"{running,16}   {keptAlive,6} of {DueSoon}, expiring at +{(expiry - startedAt).TotalSeconds:0} s ({lastKeepAlive.TotalSeconds:0.0} s before)   " +
                                      $"{pds.Calls("com.atproto.server.createSession") - logins,6}");
                }
                finally
                {
                    await system.Terminate();
                }
            }
        }
    }
}
