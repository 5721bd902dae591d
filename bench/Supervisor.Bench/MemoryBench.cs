using System.Diagnostics;
using Akka.Actor;
using Supervisor.Actors.Protocol;
using Supervisor.Host.Configuration;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Bench;

/// <summary>
/// Memory per supervised account: N imported sessions (real ImportSession through the supervisor, journaled
/// to SQLite or PostgreSQL; tokens shaped like the reference PDS's), then the managed heap after a full GC, less the heap
/// of the same system before the imports, over N. Measured twice: with every account running as an actor
/// (passivation as a host runs it, every 5 minutes: none rests while it is measured), and at rest, once the idle accounts have passivated (passivate-after = 2s); then the anchor, the
/// same sessions held by the TypeScript client on Node (<see cref="AnchorSessions"/>): with the fields the accounts hold,
/// and as a login answers them (with the DID document and e-mail fields, which the client keeps); and Akka's floor under a
/// running account, N sharded persistent actors holding nothing of ours (<see cref="BareEntities"/>).
/// </summary>
public static class MemoryBench
{
    public static async Task RunAsync(int[] sizes, JournalKind journalKind)
    {
        await using var pds = await BenchPds.StartAsync();
        Console.WriteLine($"memory per account ({journalKind} journal, imported sessions, local bench PDS)");
        Console.WriteLine("accounts   accounts as         import s   heap MB   per account   working set MB");
        foreach (var n in sizes)
        {
            await MeasureAsync(pds, n, journalKind, passivate: false);
            await MeasureAsync(pds, n, journalKind, passivate: true);
            await MeasureBareAsync(n, journalKind);
            foreach (var asLoginAnswers in new[] { false, true })
            {
                var what = asLoginAnswers ? "anchor: logged in" : "anchor: same data";
                var anchor = await AnchorSessions.BytesPerSessionAsync(pds.Url, n, asLoginAnswers);
                Console.WriteLine(anchor is { } bytes
                    ? $"{n,8}   {what,-18}  {"",8}   {"",7}   {bytes / 1024,8:0.00} KB   (@atproto/lex-password-session on Node, V8 heap)"
                    : $"{n,8}   {what,-18}  no node on the PATH: not measured");
            }
        }
    }

    private static async Task MeasureAsync(BenchPds pds, int n, JournalKind journalKind, bool passivate)
    {
        using var journal = new BenchJournal(journalKind);
        // Live: passivation as a host runs it (every 5 minutes), which no account reaches while it is measured.
        var (system, accounts) = journal.Start($"supervisor.accounts.passivate-after = {(passivate ? "2s" : "5m")}");
        try
        {
            await Accounts.ImportAsync(accounts, pds.Url, 10, DateTimeOffset.UtcNow.AddHours(2), first: 10_000_000); // warms the journal and the code paths
            var baseline = HeapAfterFullGc();
            await HeapDumpAsync(n, passivate ? "rest" : "live", "before");
            var took = await Accounts.ImportAsync(accounts, pds.Url, n, DateTimeOffset.UtcNow.AddHours(2));
            await Accounts.WaitForAsync(accounts, n + 10, AccountStateName.Active, TimeSpan.FromMinutes(5));
            if (passivate)
            {
                await PassivatedAsync(accounts, n + 10);
                // A stopped actor's cancelled timers stay in Akka's scheduler wheel (and hold the actor's cell) until the
                // wheel comes round to them: 512 ticks of 10 ms.
                await Task.Delay(TimeSpan.FromSeconds(6));
            }
            var heap = HeapAfterFullGc();
            await HeapDumpAsync(n, passivate ? "rest" : "live", "after");
            Report(n, passivate ? "passivated (rest)" : "live actors", took, baseline, heap);
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>The same system with N bare entities in place of the accounts: what Akka keeps for an actor of its own.</summary>
    private static async Task MeasureBareAsync(int n, JournalKind journalKind)
    {
        using var journal = new BenchJournal(journalKind);
        var (system, _) = journal.Start("supervisor.accounts.passivate-after = 0s");
        try
        {
            var region = await BareEntities.StartRegionAsync(system);
            await BareEntities.StartAsync(region, 10, first: 10_000_000); // warms the journal and the code paths
            var baseline = HeapAfterFullGc();
            await HeapDumpAsync(n, "bare", "before");
            var took = await BareEntities.StartAsync(region, n);
            var heap = HeapAfterFullGc();
            await HeapDumpAsync(n, "bare", "after");
            Report(n, "bare entities", took, baseline, heap, "   (Akka's floor: a sharded persistent actor holding nothing of ours)");
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>One line of the table: the heap over the baseline, over N.</summary>
    private static void Report(int n, string heldAs, TimeSpan took, long baseline, long heap, string note = "") =>
        Console.WriteLine($"{n,8}   {heldAs,-18}  {took.TotalSeconds,8:0.0}   {heap / 1048576.0,7:0.0}   " +
                          $"{(heap - baseline) / (double)n / 1024,8:0.00} KB   {Process.GetCurrentProcess().WorkingSet64 / 1048576.0,10:0}{note}");

    private static async Task PassivatedAsync(IActorRef accounts, int count)
    {
        for (var i = 0; i < 600; i++)
        {
            if ((await accounts.Ask<SupervisorCounts>(GetSupervisorCounts.Instance, TimeSpan.FromMinutes(1))).Passivated >= count) return;
            await Task.Delay(500);
        }
        throw new TimeoutException("the accounts did not passivate");
    }

    /// <summary>
    /// With SUPERVISOR_BENCH_HEAPDUMP set to a folder, a heap dump of this process there (dotnet-dump, a dotnet tool on the
    /// PATH): where the bytes of an account go, by type (`dotnet-dump analyze FILE -c "dumpheap -stat"`, the two dumps side by side).
    /// </summary>
    private static async Task HeapDumpAsync(int n, string held, string stage)
    {
        if (Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_HEAPDUMP") is not { Length: > 0 } folder) return;
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, $"{n}-{held}-{stage}.dump");
        using var dump = Process.Start(new ProcessStartInfo("dotnet-dump", ["collect", "-p", Environment.ProcessId.ToString(), "--type", "Heap", "-o", file])
            { RedirectStandardOutput = true })!;
        await dump.StandardOutput.ReadToEndAsync();
        await dump.WaitForExitAsync();
        Console.WriteLine($"heap dump: {file}");
    }

    private static long HeapAfterFullGc()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
