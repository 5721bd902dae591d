using Akka.Actor;
using Supervisor.Actors.Pds;
using System.Diagnostics;
using Supervisor.Actors.Protocol;
using Supervisor.Host.Configuration;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Bench;

/// <summary>
/// Refresh storm: N active accounts whose access tokens were issued together and expire together
/// (lifetime L), refreshed proactively within their margin (a quarter of L, jittered over its second half),
/// journaled on SQLite. Measures how the refreshes spread, how long until all are done, the failures, and
/// the new logins needed.
/// </summary>
public static class StormBench
{
    private const string Refresh = "com.atproto.server.refreshSession";

    public static async Task RunAsync(int count, TimeSpan lifetime)
    {
        await using var pds = await BenchPds.StartAsync();
        using var journal = new BenchJournal(JournalKind.Sqlite);
        var (system, accounts) = journal.Start();
        try
        {
            var issued = DateTimeOffset.UtcNow;
            var expiry = issued + lifetime;
            await Accounts.ImportAsync(accounts, pds.Url, count, expiry);
            // One request each makes every account active, so that each refreshes before its token expires.
            using (var gate = new SemaphoreSlim(200))
            {
                await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
                {
                    await gate.WaitAsync();
                    try
                    {
                        await accounts.Ask<object>(new CallXrpc(Accounts.Did(i), XrpcRequest.Query("com.atproto.server.getSession")), TimeSpan.FromMinutes(1));
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }
            Console.WriteLine($"refresh storm: {count} accounts, access tokens of {lifetime.TotalSeconds:0} s expiring together at +{(expiry - DateTimeOffset.UtcNow).TotalSeconds:0} s; SQLite journal");

            var perSecond = new List<int>();
            var clock = Stopwatch.StartNew();
            DateTimeOffset? first = null, last = null;
            var seen = 0;
            while (clock.Elapsed < lifetime + TimeSpan.FromMinutes(3))
            {
                await Task.Delay(1000);
                var now = pds.Calls(Refresh);
                if (now > seen)
                {
                    first ??= DateTimeOffset.UtcNow;
                    last = DateTimeOffset.UtcNow;
                    perSecond.Add(now - seen);
                }
                seen = now;
                if (seen >= count) break;
            }
            var list = new AccountList(await Accounts.ListAllAsync(accounts));
            var refreshedBeforeExpiry = list.Accounts.Count(a => a.LastRefreshAt is { } at && at < expiry);
            Console.WriteLine($"  refreshes: {seen} of {count}; first at {(first - expiry)?.TotalSeconds:+0.0;-0.0} s from expiry, " +
                              $"all within {(last - first)?.TotalSeconds:0.0} s; peak {perSecond.DefaultIfEmpty(0).Max()}/s, median {Median(perSecond)}/s");
            Console.WriteLine($"  refreshed before the old token expired: {refreshedBeforeExpiry}; states: " +
                              string.Join(", ", list.Accounts.GroupBy(a => a.State).Select(g => $"{g.Key} {g.Count()}")));
            Console.WriteLine($"  failures: {list.Accounts.Count(a => a.LastError is not null)} accounts with an error; new logins: {pds.Calls("com.atproto.server.createSession")}");
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static int Median(List<int> values) => values.Count == 0 ? 0 : values.Order().ElementAt(values.Count / 2);
}
