using Npgsql;

namespace Supervisor.Bench;

/// <summary>
/// PostgreSQL's own view of one benchmark database, read over one unpooled connection of the benchmark's own (whose
/// statements carry a marker and are left out): every statement the server ran for the database with its calls, rows
/// and WAL bytes (pg_stat_statements, when the server preloads it; bench/run's throwaway server does), the WAL position
/// and full-page images, and the size of the journal's tables with their indexes.
/// </summary>
public sealed class PostgresStatistics : IAsyncDisposable
{
    private const string Marker = "/* journal bench */ ";
    private readonly NpgsqlConnection _db;

    private PostgresStatistics(NpgsqlConnection db, bool statements)
    {
        _db = db;
        HasStatements = statements;
    }

    /// <summary>Whether pg_stat_statements answers (the server preloads it); without it only the client's counts exist.</summary>
    public bool HasStatements { get; }

    public static async Task<PostgresStatistics> OpenAsync(string connectionString)
    {
        var db = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await db.OpenAsync();
        bool statements;
        try
        {
            await Execute(db, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            await Execute(db, "SELECT count(*) FROM pg_stat_statements");
            statements = true;
        }
        catch (PostgresException)
        {
            statements = false;
        }
        return new PostgresStatistics(db, statements);
    }

    /// <summary>A checkpoint, so that a measurement starts from the same place (the first change of a page after it writes the whole page to the WAL).</summary>
    public Task CheckpointAsync() => Execute(_db, "CHECKPOINT");

    /// <summary>Runs statements of the benchmark's own on the database (an experiment's schema change).</summary>
    public Task ExecuteAsync(string sql) => Execute(_db, sql);

    /// <summary>The counters now.</summary>
    public async Task<PostgresCounts> ReadAsync()
    {
        var statements = new Dictionary<string, (long Calls, long Rows, long WalBytes)>();
        if (HasStatements)
        {
            await using var query = new NpgsqlCommand(Marker + """
                SELECT query, calls, rows, wal_bytes FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%journal bench%'
                """, _db);
            await using var reader = await query.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var kind = SqlTrace.Kind(reader.GetString(0));
                var (calls, rows, walBytes) = statements.GetValueOrDefault(kind);
                statements[kind] = (calls + reader.GetInt64(1), rows + reader.GetInt64(2), walBytes + (long)reader.GetDecimal(3));
            }
        }
        await using var wal = new NpgsqlCommand(Marker + """
            SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, (SELECT wal_fpi FROM pg_stat_wal),
                   (SELECT count(*) FROM journal WHERE persistence_id LIKE 'account-%'), (SELECT count(*) FROM snapshot WHERE persistence_id LIKE 'account-%')
            """, _db);
        await using var row = await wal.ExecuteReaderAsync();
        await row.ReadAsync();
        return new PostgresCounts(statements, row.GetInt64(0), row.GetInt64(1), row.GetInt64(2), row.GetInt64(3));
    }

    /// <summary>
    /// How often each index of the journal's and the snapshots' tables was read since the database was made (the accounts'
    /// recoveries at the import included), once the plugin's idle connections have reported (after 10 s).
    /// </summary>
    public async Task<IReadOnlyList<(string Index, long Scans)>> IndexScansAsync()
    {
        await Task.Delay(TimeSpan.FromSeconds(11));
        await using var query = new NpgsqlCommand(Marker + "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE relname IN ('journal', 'snapshot') ORDER BY 1", _db);
        await using var reader = await query.ExecuteReaderAsync();
        var scans = new List<(string, long)>();
        while (await reader.ReadAsync()) scans.Add((reader.GetString(0), reader.GetInt64(1)));
        return scans;
    }

    /// <summary>The size of the journal's and the snapshots' tables with their indexes and TOAST, rewritten without dead rows and free space (VACUUM FULL).</summary>
    public async Task<long> CompactSizeAsync()
    {
        await Execute(_db, "VACUUM FULL journal, snapshot");
        await using var sizes = new NpgsqlCommand(Marker + "SELECT pg_total_relation_size('journal') + pg_total_relation_size('snapshot')", _db);
        return Convert.ToInt64(await sizes.ExecuteScalarAsync());
    }

    /// <summary>The history table's rows and its size with its indexes, rewritten without free space.</summary>
    public async Task<(long Rows, long Bytes)> HistorySizeAsync()
    {
        await Execute(_db, "VACUUM FULL account_history");
        await using var sizes = new NpgsqlCommand(Marker + "SELECT count(*), pg_total_relation_size('account_history') FROM account_history", _db);
        await using var reader = await sizes.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static async Task Execute(NpgsqlConnection db, string sql)
    {
        await using var command = new NpgsqlCommand(Marker + sql, db);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync() => await _db.DisposeAsync();
}

/// <summary>A reading of <see cref="PostgresStatistics"/>.</summary>
public sealed record PostgresCounts(
    IReadOnlyDictionary<string, (long Calls, long Rows, long WalBytes)> Statements,
    long WalPosition,
    long FullPageImages,
    long JournalRows,
    long SnapshotRows)
{
    /// <summary>What happened between <paramref name="before"/> and this reading, and the rows of this reading.</summary>
    public PostgresCounts Minus(PostgresCounts before) => new(
        Statements.ToDictionary(s => s.Key, s =>
        {
            var b = before.Statements.GetValueOrDefault(s.Key);
            return (s.Value.Calls - b.Calls, s.Value.Rows - b.Rows, s.Value.WalBytes - b.WalBytes);
        }),
        WalPosition - before.WalPosition, FullPageImages - before.FullPageImages, JournalRows, SnapshotRows);

    /// <summary>Every statement.</summary>
    public long StatementCount => Statements.Values.Sum(s => s.Calls);
}
