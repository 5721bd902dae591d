using Supervisor.Bench;
using Supervisor.Host.Configuration;

// Benchmarks, not tests: each prints its figures and the machine. bench/README.md has the latest figures.
//   memory [N ...]              memory per account (default 1000 10000 100000), as live actors and at rest once idle
//                               accounts have passivated (SQLite; SUPERVISOR_BENCH_JOURNALS=postgres for PostgreSQL),
//                               and of as many sharded persistent actors holding nothing (Akka's floor)
//   recovery [N ...]            start-up until every journaled account is ready, SQLite and (with
//                               SUPERVISOR_BENCH_POSTGRES) PostgreSQL (default 10000 100000)
//   overhead [workers] [secs] [rounds]  getSession directly, through the actor, through YARP (a process) and
//                               through the HTTP API; YARP and the host in alternating rounds (default 32, 10, 1)
//   storm [N] [lifetime secs]   N accounts whose tokens expire together (default 10000, 120)
//   upload [workers] [secs]     1 MiB uploads directly, through YARP and through the host's HTTP API (default 8, 15)
//   inflight                    the host's memory while 5 MiB uploads and 30 MB answers are in flight through it
//   pages [N]                   the operator pages with N accounts at rest (PostgreSQL, SUPERVISOR_BENCH_POSTGRES): headless
//                               Chromium and HttpClient timings and sizes (default 100000)
//   cluster [N] [workers] [secs] three nodes on one PostgreSQL (SUPERVISOR_BENCH_POSTGRES), N imported accounts: requests a
//                               second through one node and three, journal writes per refresh, failover after a SIGKILL,
//                               hand-off on SIGTERM under load, CPU by process (default 300, 32, 10)
//   events [N] [events]         the session events' hub with N per-account subscriptions (100000) and 3 for all: time to
//                               acknowledge them, then events a second (100000 events)
//   journal [N] [rounds] [parallel]  the journal's statements, rows and bytes per refresh, SQLite and (with
//                               SUPERVISOR_BENCH_POSTGRES) PostgreSQL, and what they give at 1,000,000 accounts (default 200, 50, 1)
var name = args.FirstOrDefault() ?? "";
if (name == "yarp-serve")
{
    // The child process of the upload benchmark's YARP-as-a-process way: it prints only its address.
    await BenchYarpProcess.ServeAsync(args[1]);
    return 0;
}
var numbers = args.Skip(1).Select(int.Parse).ToArray();
Console.WriteLine($"machine: {Machine.Describe()}");
Console.WriteLine($"date: {DateTimeOffset.UtcNow:u}");
switch (name)
{
    case "memory":
        // SUPERVISOR_BENCH_JOURNALS=postgres: on PostgreSQL (SUPERVISOR_BENCH_POSTGRES), whose imports are faster; SQLite by default.
        await MemoryBench.RunAsync(numbers.Length > 0 ? numbers : [1_000, 10_000, 100_000],
            Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_JOURNALS") is { Length: > 0 } kind ? Enum.Parse<JournalKind>(kind, ignoreCase: true) : JournalKind.Sqlite);
        break;
    case "recovery":
        await RecoveryBench.RunAsync(numbers.Length > 0 ? numbers : [10_000, 100_000], Journals());
        break;
    case "overhead":
        await OverheadBench.RunAsync(numbers.ElementAtOrDefault(0) is > 0 and var w ? w : 32, TimeSpan.FromSeconds(numbers.ElementAtOrDefault(1) is > 0 and var s ? s : 10),
            numbers.ElementAtOrDefault(2) is > 0 and var r ? r : 1, numbers.ElementAtOrDefault(3) is > 0 and var a ? a : 1);
        break;
    case "log-line":
        await LogLineBench.RunAsync(numbers.ElementAtOrDefault(0) is > 0 and var ll ? ll : 2_000_000, numbers.ElementAtOrDefault(1) is > 0 and var lr ? lr : 3);
        break;
    case "stop":
        await StopBench.RunAsync(numbers.ElementAtOrDefault(0) is > 0 and var sn ? sn : 10_000);
        break;
    case "storm":
        await StormBench.RunAsync(numbers.ElementAtOrDefault(0) is > 0 and var n ? n : 10_000, TimeSpan.FromSeconds(numbers.ElementAtOrDefault(1) is > 0 and var l ? l : 120));
        break;
    case "upload":
        await UploadBench.RunAsync(numbers.ElementAtOrDefault(0) is > 0 and var uw ? uw : 8, TimeSpan.FromSeconds(numbers.ElementAtOrDefault(1) is > 0 and var us ? us : 15));
        break;
    case "inflight":
        await InFlightBench.RunAsync();
        break;
    case "pages":
        await PagesBench.RunAsync(numbers.ElementAtOrDefault(0) is > 0 and var pn ? pn : 100_000);
        break;
    case "cluster":
        await ClusterBench.RunAsync(numbers.ElementAtOrDefault(0) is > 0 and var cn ? cn : 300, numbers.ElementAtOrDefault(1) is > 0 and var cw ? cw : 32,
            TimeSpan.FromSeconds(numbers.ElementAtOrDefault(2) is > 0 and var cs ? cs : 10));
        break;
    case "journal":
        await JournalBench.RunAsync(numbers.ElementAtOrDefault(0) is > 0 and var jn ? jn : 200, numbers.ElementAtOrDefault(1) is > 0 and var jr ? jr : 50,
            numbers.ElementAtOrDefault(2) is > 0 and var jp ? jp : 1, Journals());
        break;
    case "events":
        await EventsBench.RunAsync(numbers.ElementAtOrDefault(0) is > 0 and var en ? en : 100_000, numbers.ElementAtOrDefault(1) is > 0 and var ee ? ee : 100_000);
        break;
    default:
        Console.Error.WriteLine("usage: Supervisor.Bench memory|recovery|overhead|storm|upload|inflight|pages|cluster|journal|events [numbers...] (see bench/README.md)");
        return 2;
}
return 0;

// The journals of recovery and journal: SQLite, and PostgreSQL with SUPERVISOR_BENCH_POSTGRES; SUPERVISOR_BENCH_JOURNALS
// (sqlite, postgres, or both comma-separated) narrows them.
static JournalKind[] Journals() =>
    Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_JOURNALS") is { Length: > 0 } only
        ? only.Split(',', StringSplitOptions.TrimEntries).Select(j => Enum.Parse<JournalKind>(j, ignoreCase: true)).ToArray()
        : Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_POSTGRES") is { Length: > 0 }
            ? [JournalKind.Sqlite, JournalKind.Postgres]
            : [JournalKind.Sqlite];
