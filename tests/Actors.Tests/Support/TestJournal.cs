using System.Security.Cryptography;
using System.Text;
using Akka.Configuration;
using Npgsql;
using Supervisor.Host.Configuration;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// A fresh journal per test, on an SQLite file or in a new PostgreSQL database (on the server that
/// scripts/test starts, found through SUPERVISOR_TEST_POSTGRES), and the full supervisor configuration on top.
/// </summary>
public sealed class TestJournal : IDisposable
{
    /// <summary>The token key of the tests (base64 of 32 bytes).</summary>
    public static readonly string TestKey = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("supervisor test key")));

    private readonly string? _database;

    public TestJournal(JournalKind kind = JournalKind.Sqlite)
    {
        Kind = kind;
        Directory.CreateDirectory(Folder);
        if (kind == JournalKind.Sqlite)
        {
            ConnectionString = SupervisorConfig.PrepareSqliteJournal(File);
            return;
        }
        _database = "sv_" + Guid.NewGuid().ToString("N")[..12];
        using (var admin = new NpgsqlConnection(AdminConnection))
        {
            admin.Open();
            using var create = new NpgsqlCommand($"CREATE DATABASE {_database}", admin);
            create.ExecuteNonQuery();
        }
        ConnectionString = new NpgsqlConnectionStringBuilder(AdminConnection) { Database = _database }.ConnectionString;
    }

    public JournalKind Kind { get; }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "supervisor-tests", Guid.NewGuid().ToString("N"));

    /// <summary>The SQLite file (also the data folder's journal when a host process uses <see cref="Folder"/>).</summary>
    public string File => Path.Combine(Folder, "journal.db");

    public string ConnectionString { get; }

    /// <summary>The PostgreSQL server of the tests.</summary>
    public static string AdminConnection =>
        Environment.GetEnvironmentVariable("SUPERVISOR_TEST_POSTGRES") is { Length: > 0 } pg
            ? pg
            : throw new InvalidOperationException("SUPERVISOR_TEST_POSTGRES is not set: run the suite with scripts/test, which starts PostgreSQL");

    /// <summary>The environment a host process needs to use this journal.</summary>
    public Dictionary<string, string> HostEnvironment() => Kind == JournalKind.Sqlite
        ? new() { ["SUPERVISOR_KEY"] = TestKey }
        : new() { ["SUPERVISOR_KEY"] = TestKey, ["SUPERVISOR_JOURNAL"] = "postgres", ["SUPERVISOR_POSTGRES"] = ConnectionString };

    /// <summary>The configuration an ActorSystem of a test runs with; <paramref name="overrides"/> wins.</summary>
    public Config Config(string? overrides = null) =>
        SupervisorConfig.Load(Kind, ConnectionString, [TestKey], $$"""
            akka.test.single-expect-default = 15s
            akka.loglevel = INFO
            supervisor.accounts.backoff-min = 200ms
            supervisor.accounts.backoff-max = 2s
            supervisor.accounts.request-timeout = 5s
            # The test PDS hands out 10-second tokens, refreshed ahead of their expiry.
            supervisor.accounts.min-refresh-interval = 1s
            supervisor.identity.verify = off
            # Sys.Terminate() in a spec is a crash (nothing handed over, nothing finished), as it was before the cluster.
            akka.coordinated-shutdown.run-by-actor-system-terminate = off
            {{overrides}}
            """);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // a journal file still held open by a pool: left for the OS temp cleanup
        }
        if (_database is null) return;
        NpgsqlConnection.ClearAllPools();
        using var admin = new NpgsqlConnection(AdminConnection);
        admin.Open();
        using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", admin);
        drop.ExecuteNonQuery();
    }
}
