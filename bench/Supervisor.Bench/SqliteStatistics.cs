using Microsoft.Data.Sqlite;

namespace Supervisor.Bench;

/// <summary>
/// What an SQLite journal file costs: the bytes this process had written to storage (/proc/self/io write_bytes: SQLite
/// runs in the process and is the only thing in it that writes files, so these are its WAL appends and checkpoints), the
/// accounts' live rows, read over a connection of the benchmark's own, and the file's size once compacted.
/// </summary>
public sealed class SqliteStatistics(string connectionString)
{
    private readonly string _file = new SqliteConnectionStringBuilder(connectionString).DataSource;

    /// <summary>The counters now.</summary>
    public async Task<SqliteCounts> ReadAsync()
    {
        await using var db = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ConnectionString);
        await db.OpenAsync();
        await using var rows = db.CreateCommand();
        rows.CommandText = "SELECT (SELECT count(*) FROM journal WHERE persistence_id LIKE 'account-%'), (SELECT count(*) FROM snapshot WHERE persistence_id LIKE 'account-%')";
        await using var reader = await rows.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new SqliteCounts(WrittenBytes(), reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>
    /// The file's size once rewritten without free pages (VACUUM) and with its WAL folded in; the system must be stopped (its
    /// pooled connections are closed here, so that the checkpoint completes).
    /// </summary>
    public async Task<long> CompactSizeAsync()
    {
        SqliteConnection.ClearAllPools();
        await using var db = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await db.OpenAsync();
        await Execute(db, "VACUUM");
        await using var checkpoint = db.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        await using var reader = await checkpoint.ExecuteReaderAsync();
        if (!await reader.ReadAsync() || reader.GetInt64(0) != 0) throw new InvalidOperationException("the WAL checkpoint did not complete");
        return new FileInfo(_file).Length;
    }

    /// <summary>The history table's rows and what it and its index take in the file: the compacted file's size with them, less without them.</summary>
    public async Task<(long Rows, long Bytes)> HistorySizeAsync()
    {
        var with = await CompactSizeAsync();
        long rows;
        await using (var db = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString))
        {
            await db.OpenAsync();
            await using var count = db.CreateCommand();
            count.CommandText = "SELECT count(*) FROM account_history";
            rows = Convert.ToInt64(await count.ExecuteScalarAsync());
            await Execute(db, "DROP TABLE account_history");
        }
        return (rows, with - await CompactSizeAsync());
    }

    /// <summary>Runs statements of the benchmark's own on the database (an experiment's schema change).</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var db = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await db.OpenAsync();
        await Execute(db, sql);
    }

    private static async Task Execute(SqliteConnection db, string sql)
    {
        await using var command = db.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Bytes this process caused to be written to storage so far (Linux; 0 elsewhere).</summary>
    private static long WrittenBytes() =>
        File.Exists("/proc/self/io")
            ? File.ReadLines("/proc/self/io").Where(l => l.StartsWith("write_bytes:", StringComparison.Ordinal)).Select(l => long.Parse(l[12..].Trim())).FirstOrDefault()
            : 0;
}

/// <summary>A reading of <see cref="SqliteStatistics"/>.</summary>
public sealed record SqliteCounts(long WrittenBytes, long JournalRows, long SnapshotRows)
{
    /// <summary>The bytes written between <paramref name="before"/> and this reading, and the rows of this reading.</summary>
    public SqliteCounts Minus(SqliteCounts before) => this with { WrittenBytes = WrittenBytes - before.WrittenBytes };
}
