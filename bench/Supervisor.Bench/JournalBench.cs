using System.Diagnostics;
using Akka.Actor;
using Supervisor.Host.Configuration;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Bench;

/// <summary>
/// The journal's cost of a refresh: N imported accounts on the bench PDS, each refreshed ROUNDS times (RefreshNow, PARALLEL
/// accounts at a time, one at a time by default so that no write is batched with another), on SQLite and PostgreSQL; per
/// refresh, the statements and transactions the journal plugin sends (<see cref="SqlTrace"/>) and, on PostgreSQL, those
/// the server ran (<see cref="PostgresStatistics"/>), the rows inserted, updated and deleted, the bytes of the events and
/// snapshots, the bytes written to disk (SQLite) or to the WAL (PostgreSQL), and the journal's size; then what that gives
/// at 1,000,000 active accounts. Accounts stay running (no passivation) and the journal probe is off, so that nothing but
/// the refreshes writes; each round is measured apart, and the figures are the sums over whole rounds. For experiments,
/// SUPERVISOR_BENCH_HOCON adds settings and SUPERVISOR_BENCH_SQL runs statements on the database before the rounds.
/// SUPERVISOR_BENCH_HISTORY=on adds the accounts' history writer, as the host runs it (what waits is written at the end
/// of each round), and prints the history table's size; the plugin's counts (linq2db's trace) do not see its statements,
/// the database's (WAL, disk bytes, pg_stat_statements) do.
/// </summary>
public static class JournalBench
{
    private const int Projected = 1_000_000;

    /// <summary>
    /// The accounts stay running and the journal probe waits an hour: nothing but the refreshes reaches the journal.
    /// SUPERVISOR_BENCH_HOCON adds settings (e.g. <c>supervisor.accounts.snapshot-every = 20</c>).
    /// </summary>
    private static string Settings => "supervisor.accounts { passivate-after = 0s, journal-probe-interval = 1h }\n" +
                                      Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_HOCON");

    public static async Task RunAsync(int count, int rounds, int parallel, JournalKind[] journals)
    {
        await using var pds = await BenchPds.StartAsync();
        using var trace = SqlTrace.Start();
        var settings = SupervisorConfig.AccountSettingsOf(SupervisorConfig.Load(JournalKind.Sqlite, "Data Source=:memory:", [], Settings));
        // Refreshed ahead of expiry by the margin (at most a quarter of the lifetime), jittered over its second half.
        var lifetime = TimeSpan.FromHours(2);
        var lead = TimeSpan.FromTicks(Math.Min(settings.RefreshMargin.Ticks, (long)(lifetime.Ticks * settings.RefreshMarginFraction)));
        var interval = lifetime - lead * 0.75;
        Console.WriteLine($"journal cost per refresh: {count} imported accounts, each refreshed {rounds} times, {parallel} at a time (RefreshNow, local bench PDS); " +
                          $"snapshot every {settings.SnapshotEvery} events; {Machine.LoadAverage()}");
        var results = new List<(JournalKind Kind, Figures Figures)>();
        foreach (var kind in journals)
        {
            using var journal = new BenchJournal(kind);
            var (system, accounts) = journal.Start(Settings);
            var history = Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_HISTORY") == "on" ? journal.StartHistory(system, accounts) : null;
            Figures figures;
            try
            {
                await Accounts.ImportAsync(accounts, pds.Url, count, DateTimeOffset.UtcNow + lifetime);
                await QuietAsync(trace);
                await using var postgres = kind == JournalKind.Postgres ? await PostgresStatistics.OpenAsync(journal.ConnectionString) : null;
                var sqlite = kind == JournalKind.Sqlite ? new SqliteStatistics(journal.ConnectionString) : null;
                // SUPERVISOR_BENCH_SQL: statements run on the journal's database before the rounds (an experiment: DROP INDEX ...).
                if (Environment.GetEnvironmentVariable("SUPERVISOR_BENCH_SQL") is { Length: > 0 } experiment)
                {
                    Console.WriteLine($"{kind}: before the rounds: {experiment}");
                    await (postgres is not null ? postgres.ExecuteAsync(experiment) : sqlite!.ExecuteAsync(experiment));
                }
                if (postgres is not null) await postgres.CheckpointAsync();
                var measured = new List<Round>();
                var clock = Stopwatch.StartNew();
                for (var round = 1; round <= rounds; round++)
                {
                    var (sql, pg, lite) = (trace.Read(), postgres is null ? null : await postgres.ReadAsync(), sqlite is null ? null : await sqlite.ReadAsync());
                    await RefreshAllAsync(accounts, count, round, parallel);
                    await WrittenAsync(history);
                    await QuietAsync(trace);
                    var (sqlAfter, pgAfter, liteAfter) = (trace.Read(), postgres is null ? null : await postgres.ReadAsync(), sqlite is null ? null : await sqlite.ReadAsync());
                    measured.Add(new Round(sqlAfter.Minus(sql), pgAfter?.Minus(pg!), liteAfter?.Minus(lite!),
                        pgAfter?.JournalRows ?? liteAfter!.JournalRows, pgAfter?.SnapshotRows ?? liteAfter!.SnapshotRows));
                }
                var took = clock.Elapsed;
                // The journal's size is taken half-way between two snapshots (every account is at the same point of its cycle
                // here), where its rows are as many as on average.
                var halfCycle = settings.SnapshotEvery / 4;
                for (var round = rounds + 1; round <= rounds + halfCycle; round++) await RefreshAllAsync(accounts, count, round, parallel);
                await WrittenAsync(history);
                await QuietAsync(trace);
                var rowsThen = postgres is not null ? (await postgres.ReadAsync()).JournalRows : (await sqlite!.ReadAsync()).JournalRows;
                var indexScans = postgres is not null ? await postgres.IndexScansAsync() : [];
                await system.Terminate();
                var compact = postgres is not null ? await postgres.CompactSizeAsync() : await sqlite!.CompactSizeAsync();
                figures = new Figures(count, rounds, measured, rowsThen, compact);
                Print(kind, figures, took, postgres?.HasStatements);
                if (history is not null)
                {
                    var (rows, bytes) = postgres is not null ? await postgres.HistorySizeAsync() : await sqlite!.HistorySizeAsync();
                    Console.WriteLine($"  history table: {rows:N0} rows, {bytes:N0} bytes compacted with its index ({bytes / Math.Max(1, rows):N0} B a row, " +
                                      $"{bytes / (double)count / 1024:0.0} KB an account)");
                }
                if (indexScans.Count > 0) Console.WriteLine("  index reads over the whole run (pg_stat_user_indexes): " + string.Join(", ", indexScans.Select(i => $"{i.Index} {i.Scans:N0}")));
            }
            finally
            {
                await system.Terminate();
            }
            results.Add((kind, figures));
        }
        Project(results, interval);
    }

    /// <summary>Refreshes every account once, <paramref name="parallel"/> at a time; each must answer refreshed.</summary>
    private static async Task RefreshAllAsync(IActorRef accounts, int count, int round, int parallel) =>
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, _) =>
        {
            var reply = await accounts.Ask<object>(new RefreshNow(Accounts.Did(i)), TimeSpan.FromMinutes(1));
            if (reply is not RefreshCompleted { Status: { RefreshCount: var refreshed, LastError: null } } || refreshed != round)
                throw new InvalidOperationException($"refresh {round} of account {i} answered {reply}");
        });

    /// <summary>Has the history writer (when there is one) write what waits.</summary>
    private static async Task WrittenAsync(IActorRef? history)
    {
        if (history is not null)
            await history.Ask<Supervisor.Host.Events.AccountHistoryWriter.Flush>(Supervisor.Host.Events.AccountHistoryWriter.Flush.Instance, TimeSpan.FromMinutes(1));
    }

    /// <summary>Waits until the plugin has sent nothing for half a second (a snapshot's deletions follow its refresh).</summary>
    private static async Task QuietAsync(SqlTrace trace)
    {
        var last = -1L;
        while (trace.Read().StatementCount is var now && now != last)
        {
            last = now;
            await Task.Delay(500);
        }
    }

    private static void Print(JournalKind kind, Figures f, TimeSpan took, bool? serverStatements)
    {
        var plain = f.Plain;
        Console.WriteLine();
        Console.WriteLine($"{kind}: {f.Refreshes:N0} refreshes in {took.TotalSeconds:0.0} s (the half-second pauses between rounds included); {Machine.LoadAverage()}");
        Console.WriteLine($"  {"per refresh",-56} {"all " + f.Rounds.Count + " rounds",-22} a round without snapshots (round {f.Rounds.IndexOf(plain) + 1})");
        Line("transactions (begun by the plugin)", f.Sum(r => r.Sql.Transactions), plain.Sql.Transactions);
        Line("statements (sent by the plugin)", f.Sum(r => r.Sql.StatementCount), plain.Sql.StatementCount);
        foreach (var kindOf in f.Rounds.SelectMany(r => r.Sql.Statements.Where(s => s.Value.Calls > 0).Select(s => s.Key)).Distinct().Order())
            Line("  " + kindOf + ", rows", f.Sum(r => r.Sql.Statements.GetValueOrDefault(kindOf).Calls), plain.Sql.Statements.GetValueOrDefault(kindOf).Calls,
                f.Sum(r => r.Sql.Statements.GetValueOrDefault(kindOf).Rows), plain.Sql.Statements.GetValueOrDefault(kindOf).Rows);
        Line("rows inserted", f.Sum(r => r.Sql.Rows("INSERT")), plain.Sql.Rows("INSERT"));
        Line("rows updated", f.Sum(r => r.Sql.Rows("UPDATE")), plain.Sql.Rows("UPDATE"));
        Line("rows deleted", f.Sum(r => r.Sql.Rows("DELETE")), plain.Sql.Rows("DELETE"));
        if (f.Batched)
        {
            Console.WriteLine("  bytes of events and snapshots inserted: not counted (writes were batched, their values inline in the statements)");
        }
        else
        {
            Line("bytes of events and snapshots inserted", f.Sum(r => r.Sql.PayloadBytes), plain.Sql.PayloadBytes);
            foreach (var manifest in f.Rounds.SelectMany(r => r.Sql.Payloads.Where(p => p.Value.Values > 0).Select(p => p.Key)).Distinct().Order())
            {
                var values = f.Sum(r => r.Sql.Payloads.GetValueOrDefault(manifest).Values);
                var bytes = f.Sum(r => r.Sql.Payloads.GetValueOrDefault(manifest).Bytes);
                Console.WriteLine($"    {manifest,-54} {values / f.Refreshes,8:0.00} per refresh, {bytes / Math.Max(1, values),6:N0} B each");
            }
        }
        if (serverStatements is true)
        {
            Line("statements the server ran (pg_stat_statements)", f.Sum(r => r.Postgres!.StatementCount), plain.Postgres!.StatementCount);
            foreach (var kindOf in f.Rounds.SelectMany(r => r.Postgres!.Statements.Where(s => s.Value.Calls > 0).Select(s => s.Key)).Distinct().Order())
                Line("  " + kindOf + ", WAL bytes", f.Sum(r => r.Postgres!.Statements.GetValueOrDefault(kindOf).Calls), plain.Postgres.Statements.GetValueOrDefault(kindOf).Calls,
                    f.Sum(r => r.Postgres!.Statements.GetValueOrDefault(kindOf).WalBytes), plain.Postgres.Statements.GetValueOrDefault(kindOf).WalBytes);
        }
        else if (serverStatements is false)
        {
            Console.WriteLine("  (pg_stat_statements is not loaded by this server: no server-side statement counts)");
        }
        if (kind == JournalKind.Postgres)
        {
            Line("WAL bytes (pg_current_wal_lsn)", f.Sum(r => r.Postgres!.WalPosition), plain.Postgres!.WalPosition);
            Line("  of which full-page images (pg_stat_wal)", f.Sum(r => r.Postgres!.FullPageImages), plain.Postgres.FullPageImages);
        }
        else
        {
            Line("bytes written to disk (write_bytes)", f.Sum(r => r.Sqlite!.WrittenBytes), plain.Sqlite!.WrittenBytes);
        }
        Console.WriteLine($"  journal rows of an account, after each round: mean {f.Rounds.Average(r => r.JournalRows) / f.Accounts:0.0} " +
                          $"(min {f.Rounds.Min(r => r.JournalRows) / (double)f.Accounts:0.0}, max {f.Rounds.Max(r => r.JournalRows) / (double)f.Accounts:0.0}), " +
                          $"snapshots {f.Rounds.Average(r => r.SnapshotRows) / f.Accounts:0.0}");
        Console.WriteLine($"  the journal half-way between two snapshots ({f.RowsAtSize / (double)f.Accounts:0.0} rows an account), rewritten without free space " +
                          $"({(kind == JournalKind.Postgres ? "VACUUM FULL; journal and snapshot tables with their indexes" : "VACUUM; the whole file")}): {f.CompactSize / (double)f.Accounts:N0} B an account");

        void Line(string name, double all, double plainValue, double? allRows = null, double? plainRows = null) =>
            Console.WriteLine($"  {name,-56} {all / f.Refreshes,10:0.00}{(allRows is { } ar ? $" ({ar / f.Refreshes:0.00})" : ""),-12} " +
                              $"{plainValue / f.Accounts,10:0.00}{(plainRows is { } pr ? $" ({pr / f.Accounts:0.00})" : "")}");
    }

    /// <summary>What the figures give at 1,000,000 active accounts, each refreshed once an <paramref name="interval"/>.</summary>
    private static void Project(List<(JournalKind Kind, Figures Figures)> results, TimeSpan interval)
    {
        var rate = Projected / interval.TotalSeconds;
        Console.WriteLine();
        Console.WriteLine($"at {Projected:N0} active accounts, each refreshed every {interval.TotalMinutes:0} min (2 h access tokens, refreshed 5 to 10 min ahead): {rate:0} refreshes a second, one at a time");
        Console.WriteLine("journal      rows/s (ins + upd + del)   statements/s   transactions/s   events+snapshots KB/s   disk or WAL KB/s   journal GB");
        foreach (var (kind, f) in results)
        {
            var per = rate / f.Refreshes;
            var rows = f.Sum(r => r.Sql.Rows("INSERT") + r.Sql.Rows("UPDATE") + r.Sql.Rows("DELETE"));
            var statements = kind == JournalKind.Postgres && f.Rounds[0].Postgres!.Statements.Count > 0 ? f.Sum(r => r.Postgres!.StatementCount) : f.Sum(r => r.Sql.StatementCount);
            var written = kind == JournalKind.Postgres ? f.Sum(r => r.Postgres!.WalPosition) : f.Sum(r => r.Sqlite!.WrittenBytes);
            Console.WriteLine($"{kind,-10} {rows * per,24:N0} {statements * per,14:N0} {f.Sum(r => r.Sql.Transactions) * per,16:N0} {(f.Batched ? "-" : (f.Sum(r => r.Sql.PayloadBytes) * per / 1024).ToString("N0")),23} " +
                              $"{written * per / 1024,18:N0}   {f.CompactSize / (double)f.Accounts * Projected / 1e9,10:0.0}");
        }
    }

    /// <summary>One round: every account refreshed once; what it cost, and the journal after it.</summary>
    private sealed record Round(SqlCounts Sql, PostgresCounts? Postgres, SqliteCounts? Sqlite, long JournalRows, long SnapshotRows);

    /// <summary>Every round of one journal, and its rows and size (rewritten without free space) half-way between two snapshots.</summary>
    private sealed record Figures(int Accounts, int RoundCount, List<Round> Rounds, long RowsAtSize, long CompactSize)
    {
        public double Refreshes => (double)Accounts * RoundCount;

        public double Sum(Func<Round, long> value) => Rounds.Sum(value);

        /// <summary>Whether the plugin batched writes of several accounts (then the payload's bytes are not counted).</summary>
        public bool Batched => Rounds.Any(r => r.Sql.Batched);

        /// <summary>The round with the fewest statements: no snapshot in it.</summary>
        public Round Plain => Rounds.MinBy(r => r.Sql.StatementCount)!;
    }
}
