using Akka.Actor;
using Npgsql;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Host.Configuration;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Bench;

/// <summary>
/// A journal of one benchmark (an SQLite file in a temporary folder, or a new database on the PostgreSQL
/// server named by SUPERVISOR_BENCH_POSTGRES) and ActorSystems with the real supervisor configuration on it.
/// </summary>
public sealed class BenchJournal : IDisposable
{
    /// <summary>The token key of every benchmark journal (base64): a host started on the journal needs it (SUPERVISOR_KEY).</summary>
    public static readonly string TokenKey = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData("supervisor benchmark key"u8));

    /// <summary>Accounts rest two seconds after their last message: a benchmark does not wait five minutes.</summary>
    public const string Resting = "supervisor.accounts { active-window = 1s, passivate-after = 2s }";

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "supervisor-bench-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string? _database;

    public BenchJournal(JournalKind kind)
    {
        Kind = kind;
        Directory.CreateDirectory(_folder);
        if (kind == JournalKind.Sqlite)
        {
            ConnectionString = SupervisorConfig.PrepareSqliteJournal(Path.Combine(_folder, "journal.db"));
            return;
        }
        var server = Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_POSTGRES")
                     ?? throw new InvalidOperationException("SUPERVISOR_BENCH_POSTGRES is not set (bench/run starts PostgreSQL and sets it)");
        _database = "bench_" + Guid.NewGuid().ToString("N")[..10];
        using (var admin = new NpgsqlConnection(server))
        {
            admin.Open();
            using var create = new NpgsqlCommand($"CREATE DATABASE {_database}", admin);
            create.ExecuteNonQuery();
        }
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = _database }.ConnectionString;
    }

    public JournalKind Kind { get; }

    public string ConnectionString { get; }

    /// <summary>An ActorSystem with the accounts supervisor, as the host runs it (warnings-only logging).</summary>
    public (ActorSystem System, IActorRef Accounts) Start(string? overrides = null)
    {
        var config = SupervisorConfig.Load(Kind, ConnectionString, [TokenKey], $"""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            # The benchmarks' tokens live minutes (the refresh storm's 120 s): refreshed ahead of time, as the specs' are.
            supervisor.accounts.min-refresh-interval = 1s
            {overrides}
            """);
        var settings = SupervisorConfig.AccountSettingsOf(config);
        var system = ActorSystem.Create("bench", config);
        var accounts = system.ActorOf(AccountsSupervisor.Props(PdsClient.Create(settings.RequestTimeout, outbound: OutboundAddresses.WithLoopback), settings), AccountsSupervisor.Name);
        return (system, accounts);
    }

    /// <summary>The accounts' history writer of <paramref name="system"/>, as the host starts it (its settings, table in this journal's database).</summary>
    public IActorRef StartHistory(ActorSystem system, IActorRef accounts) =>
        system.ActorOf(Supervisor.Host.Events.AccountHistoryWriter.Props(new Supervisor.Host.Events.AccountHistory(Kind, ConnectionString), accounts, "bench",
            new Supervisor.Actors.Account.SupervisorMetrics(), system.Settings.Config), "account-history");

    public void Dispose()
    {
        if (_database is not null)
        {
            NpgsqlConnection.ClearAllPools();
            using var admin = new NpgsqlConnection(Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_POSTGRES"));
            admin.Open();
            using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", admin);
            drop.ExecuteNonQuery();
        }
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // a file still held by a pool: left for the OS temp cleanup
        }
    }
}

/// <summary>Helpers every benchmark uses to fill and watch a supervisor.</summary>
public static class Accounts
{
    /// <summary>The characters of a did:plc identifier.</summary>
    private const string PlcAlphabet = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>The DID of bench account <paramref name="i"/>: a valid did:plc (24 characters of [a-z2-7]), as the supervisor requires.</summary>
    public static string Did(int i)
    {
        var id = new char[19];
        for (var k = id.Length - 1; k >= 0; k--, i >>= 5) id[k] = PlcAlphabet[i & 31];
        return "did:plc:bench" + new string(id);
    }

    /// <summary>A valid did:plc made from <paramref name="seed"/> (the same seed, the same DID).</summary>
    public static string DidOf(string seed) =>
        "did:plc:" + string.Concat(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(seed)).Take(24).Select(b => PlcAlphabet[b & 31]));

    /// <summary>
    /// Imports <paramref name="count"/> accounts numbered from <paramref name="first"/> (no validation call) with access tokens expiring at
    /// <paramref name="accessExp"/> (refresh tokens at <paramref name="refreshExp"/>, 90 days by default), at most
    /// <paramref name="parallel"/> at a time; the time it took.
    /// </summary>
    public static async Task<TimeSpan> ImportAsync(IActorRef accounts, string pdsUrl, int count, DateTimeOffset accessExp, int first = 0, int parallel = 500,
        DateTimeOffset? refreshExp = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var now = DateTimeOffset.UtcNow;
        using var gate = new SemaphoreSlim(parallel);
        var tasks = Enumerable.Range(first, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var did = Did(i);
                var (access, refresh) = BenchJwt.Pair(did, now, accessExp, refreshExp);
                // The handle the bench PDS reports for the DID, so that a refresh journals no handle change.
                var reply = await accounts.Ask<object>(new ImportSession($"{did[8..]}.bench:::{did}:::{access}:::{refresh}:::{pdsUrl}", pdsUrl, Validate: false), TimeSpan.FromMinutes(5));
                if (reply is not SessionStarted) throw new InvalidOperationException($"import {i} answered {reply}");
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(tasks);
        return clock.Elapsed;
    }

    /// <summary>Polls the supervisor until <paramref name="count"/> accounts are in <paramref name="state"/>; the time it took.</summary>
    public static async Task<TimeSpan> WaitForAsync(IActorRef accounts, int count, AccountStateName state, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var seen = "";
        while (clock.Elapsed < timeout)
        {
            var counts = await accounts.Ask<AccountCounts>(GetAccountCounts.Instance, TimeSpan.FromMinutes(1));
            if (counts.ByState[state] >= count) return clock.Elapsed;
            seen = string.Join(", ", counts.ByState.Where(c => c.Value > 0).Select(c => $"{c.Key} {c.Value}"));
            await Task.Delay(50);
        }
        throw new TimeoutException($"fewer than {count} accounts {state} after {timeout.TotalSeconds} s (seen: {seen})");
    }

    /// <summary>Waits until <paramref name="count"/> accounts have passivated (rest, their status with the registry).</summary>
    public static async Task WaitForRestAsync(IActorRef accounts, int count)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(10))
        {
            if ((await accounts.Ask<AccountCounts>(GetAccountCounts.Instance, TimeSpan.FromMinutes(1))).Passivated >= count) return;
            await Task.Delay(500);
        }
        throw new TimeoutException($"fewer than {count} accounts rested after 10 minutes");
    }

    /// <summary>Every account's status, read page by page (the largest pages).</summary>
    public static async Task<List<AccountStatus>> ListAllAsync(IActorRef accounts)
    {
        var all = new List<AccountStatus>();
        string? cursor = null;
        do
        {
            var page = await accounts.Ask<AccountList>(new ListAccounts(Limit: Supervisor.Actors.Accounts.AccountPage.MaxLimit, Cursor: cursor), TimeSpan.FromMinutes(1));
            all.AddRange(page.Accounts);
            cursor = page.NextCursor;
        } while (cursor is not null);
        return all;
    }
}
