using Akka.Actor;
using Supervisor.Actors.Pds;
using System.Diagnostics;
using Supervisor.Actors.Protocol;
using Supervisor.Host.Configuration;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Bench;

/// <summary>
/// Recovery: N journaled accounts, a new ActorSystem on the same journal, and the time until every
/// account is Active again (all recovered from the journal, no call to the PDS), plus the time until a first
/// request to one account is answered.
/// </summary>
public static class RecoveryBench
{
    public static async Task RunAsync(int[] sizes, JournalKind[] journals)
    {
        await using var pds = await BenchPds.StartAsync();
        Console.WriteLine("recovery (imported sessions, local bench PDS)");
        Console.WriteLine("journal    accounts   first answer ms   all ready s   refreshes/logins");
        foreach (var kind in journals)
        {
            foreach (var n in sizes)
            {
                using var journal = new BenchJournal(kind);
                var (system, accounts) = journal.Start();
                await Accounts.ImportAsync(accounts, pds.Url, n, DateTimeOffset.UtcNow.AddHours(2));
                await system.Terminate();
                var calls = pds.Calls("com.atproto.server.refreshSession") + pds.Calls("com.atproto.server.createSession");

                var clock = Stopwatch.StartNew();
                (system, accounts) = journal.Start();
                try
                {
                    var first = await accounts.Ask<object>(new CallXrpc(Accounts.Did(n / 2), XrpcRequest.Query("com.atproto.server.getSession")), TimeSpan.FromMinutes(5));
                    var firstAnswer = clock.Elapsed;
                    if (first is not Actors.Pds.XrpcResponse { Status: 200 }) throw new InvalidOperationException($"the first request answered {first}");
                    await Accounts.WaitForAsync(accounts, n, AccountStateName.Active, TimeSpan.FromMinutes(10));
                    var ready = clock.Elapsed;
                    var extra = pds.Calls("com.atproto.server.refreshSession") + pds.Calls("com.atproto.server.createSession") - calls;
                    Console.WriteLine($"{kind,-8}   {n,8}   {firstAnswer.TotalMilliseconds,15:0}   {ready.TotalSeconds,11:0.0}   {extra,16}");
                }
                finally
                {
                    await system.Terminate();
                }
            }
        }
    }
}
