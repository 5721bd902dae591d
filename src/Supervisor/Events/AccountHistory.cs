using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;
using Supervisor.Host.Configuration;

namespace Supervisor.Host.Events;

/// <summary>
/// The recent session events of each account, for the status page's account pages, in the table
/// <c>account_history</c> of the journal's database (SQLite or PostgreSQL): at most <see cref="PerAccount"/> (50) an
/// account, as <see cref="HistoryEntry"/> rows (no token, no handle, no service). Kept there because the journal is
/// compacted at each snapshot and transient failures are not journaled at all; in the database, the history survives a
/// restart and every node of a cluster reads the same. Written in batches by the <see cref="AccountHistoryWriter"/> of
/// the node where each account runs; read with one indexed query per account page. Thread-safe.
/// </summary>
public sealed class AccountHistory
{
    /// <summary>How many events an account keeps.</summary>
    public const int PerAccount = 50;

    /// <summary>The table's name.</summary>
    public const string Table = "account_history";

    /// <summary>Rows (or accounts) per statement: 100 rows of 6 parameters stay far below both databases' limits.</summary>
    private const int RowsPerStatement = 100;

    private readonly JournalKind _kind;
    private readonly string _connectionString;

    /// <summary>The history in the database of the journal <paramref name="kind"/> at <paramref name="connectionString"/>.</summary>
    public AccountHistory(JournalKind kind, string connectionString)
    {
        _kind = kind;
        _connectionString = kind == JournalKind.Postgres ? SupervisorConfig.PostgresJournalConnection(connectionString) : connectionString;
    }

    /// <summary>
    /// Creates the table and its index when missing. The index (did, at_ms, id) serves both "the last 50 of one DID" and
    /// the trim; <c>at_ms</c> is Unix milliseconds (the same type in both databases); <c>id</c> orders events of the same
    /// millisecond in the order they were written.
    /// </summary>
    public async Task CreateAsync(CancellationToken cancel = default)
    {
        var sql = _kind == JournalKind.Postgres
            ? $"""
               CREATE TABLE IF NOT EXISTS {Table} (
                 id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, did TEXT NOT NULL, at_ms BIGINT NOT NULL,
                 kind TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NULL, node TEXT NULL);
               CREATE INDEX IF NOT EXISTS {Table}_did_at ON {Table} (did, at_ms, id);
               """
            // In SQLite the index holds the rowid (id) anyway.
            : $"""
               CREATE TABLE IF NOT EXISTS {Table} (
                 id INTEGER PRIMARY KEY, did TEXT NOT NULL, at_ms INTEGER NOT NULL,
                 kind TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NULL, node TEXT NULL);
               CREATE INDEX IF NOT EXISTS {Table}_did_at ON {Table} (did, at_ms);
               """;
        await using var connection = await OpenAsync(cancel);
        try
        {
            await Execute(connection, null, sql, [], cancel);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
        {
            // Another node created it at the same moment (IF NOT EXISTS is not safe against a concurrent CREATE).
        }
    }

    /// <summary>
    /// Adds <paramref name="events"/> (oldest first) and trims each of their accounts to its newest
    /// <see cref="PerAccount"/>, in one transaction: one INSERT and one DELETE per 100 rows or accounts, not per event.
    /// </summary>
    public async Task AppendAsync(IReadOnlyList<(string Did, HistoryEntry Entry)> events, CancellationToken cancel = default)
    {
        if (events.Count == 0) return;
        await using var connection = await OpenAsync(cancel);
        await using var transaction = await connection.BeginTransactionAsync(cancel);
        foreach (var chunk in events.Chunk(RowsPerStatement))
        {
            var sql = new StringBuilder($"INSERT INTO {Table} (did, at_ms, kind, state, reason, node) VALUES ");
            var parameters = new List<(string, object?)>(chunk.Length * 6);
            for (var i = 0; i < chunk.Length; i++)
            {
                var (did, e) = chunk[i];
                sql.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"(@d{i}, @a{i}, @k{i}, @s{i}, @r{i}, @n{i})");
                parameters.AddRange([
                    ($"d{i}", did), ($"a{i}", e.At.ToUnixTimeMilliseconds()), ($"k{i}", e.Kind.ToString()), ($"s{i}", e.State.ToString()),
                    ($"r{i}", e.Reason), ($"n{i}", e.Node),
                ]);
            }
            await Execute(connection, transaction, sql.ToString(), parameters, cancel);
        }
        foreach (var dids in events.Select(e => e.Did).Distinct(StringComparer.Ordinal).Chunk(RowsPerStatement))
        {
            var names = string.Join(", ", dids.Select((_, i) => $"@t{i}"));
            await Execute(connection, transaction, $"""
                DELETE FROM {Table} WHERE id IN (
                  SELECT id FROM (
                    SELECT id, row_number() OVER (PARTITION BY did ORDER BY at_ms DESC, id DESC) AS n FROM {Table} WHERE did IN ({names})
                  ) AS ranked WHERE n > {PerAccount})
                """, dids.Select((did, i) => ($"t{i}", (object?)did)).ToList(), cancel);
        }
        await transaction.CommitAsync(cancel);
    }

    /// <summary>The kept events of one account, oldest first (empty when none is kept).</summary>
    public async Task<IReadOnlyList<HistoryEntry>> OfAsync(string did, CancellationToken cancel = default)
    {
        await using var connection = await OpenAsync(cancel);
        await using var command = Command(connection, null,
            $"SELECT at_ms, kind, state, reason, node FROM {Table} WHERE did = @did ORDER BY at_ms DESC, id DESC LIMIT {PerAccount}", [("did", did)]);
        await using var reader = await command.ExecuteReaderAsync(cancel);
        var entries = new List<HistoryEntry>(PerAccount);
        while (await reader.ReadAsync(cancel))
        {
            // A kind or state this version does not know (written by a newer one) is left out.
            if (!Enum.TryParse<SessionEventKind>(reader.GetString(1), out var kind) || !Enum.TryParse<AccountStateName>(reader.GetString(2), out var state)) continue;
            entries.Add(new HistoryEntry(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), kind, state,
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }
        entries.Reverse();
        return entries;
    }

    private async Task<DbConnection> OpenAsync(CancellationToken cancel)
    {
        DbConnection connection = _kind == JournalKind.Postgres ? new NpgsqlConnection(_connectionString) : new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancel);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, IReadOnlyList<(string Name, object? Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }

    private static async Task Execute(DbConnection connection, DbTransaction? transaction, string sql, IReadOnlyList<(string Name, object? Value)> parameters, CancellationToken cancel)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        await command.ExecuteNonQueryAsync(cancel);
    }
}
