using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using LinqToDB.Data;

namespace Supervisor.Bench;

/// <summary>
/// What the journal plugin (Akka.Persistence.Sql, through linq2db) sends its database, counted from linq2db's own trace
/// in this process, on either database: the statements by kind and table with the rows they changed, the transactions
/// it begins, and the bytes of the binary values it inserts (the serialized events and snapshots). What the database
/// driver adds by itself (Npgsql's DISCARD ALL) is not seen here; <see cref="PostgresStatistics"/> sees it.
/// </summary>
public sealed partial class SqlTrace : IDisposable
{
    private readonly ConcurrentDictionary<string, Counter> _statements = new();
    private readonly ConcurrentDictionary<string, Counter> _payloads = new();
    private long _transactions;

    private SqlTrace()
    {
    }

    /// <summary>One statement kind's calls and rows, or one manifest's inserted values and their bytes.</summary>
    public sealed class Counter
    {
        public long Calls;
        public long Amount;
    }

    /// <summary>
    /// Counts from now on: linq2db's default trace handler, which reaches every connection of the process, the plugin's
    /// included, without configuring the plugin otherwise than the host does.
    /// </summary>
    public static SqlTrace Start()
    {
        var trace = new SqlTrace();
        DataConnection.TurnTraceSwitchOn(TraceLevel.Info);
        DataConnection.DefaultOnTraceConnection = trace.OnTrace;
        return trace;
    }

    /// <summary>The counts so far.</summary>
    public SqlCounts Read() => new(
        _statements.ToDictionary(s => s.Key, s => (Interlocked.Read(ref s.Value.Calls), Interlocked.Read(ref s.Value.Amount))),
        _payloads.ToDictionary(p => p.Key, p => (Interlocked.Read(ref p.Value.Calls), Interlocked.Read(ref p.Value.Amount))),
        Interlocked.Read(ref _transactions));

    private void OnTrace(TraceInfo info)
    {
        if (info.Operation == TraceOperation.BeginTransaction && info.TraceInfoStep == TraceInfoStep.BeforeExecute)
        {
            Interlocked.Increment(ref _transactions);
            return;
        }
        if (info.Operation is not (TraceOperation.ExecuteNonQuery or TraceOperation.ExecuteReader or TraceOperation.ExecuteScalar)) return;
        if (info.TraceInfoStep == TraceInfoStep.BeforeExecute && info.Command is { } command && Kind(command.CommandText).StartsWith("INSERT", StringComparison.Ordinal))
        {
            // The manifest (a string like SessionRefreshed.v2) names the binary value inserted with it.
            var manifest = command.Parameters.Cast<System.Data.Common.DbParameter>().Select(p => p.Value).OfType<string>().FirstOrDefault(v => ManifestPattern().IsMatch(v)) ?? "(other)";
            foreach (var bytes in command.Parameters.Cast<System.Data.Common.DbParameter>().Select(p => p.Value).OfType<byte[]>())
            {
                var payload = _payloads.GetOrAdd(manifest, _ => new Counter());
                Interlocked.Increment(ref payload.Calls);
                Interlocked.Add(ref payload.Amount, bytes.Length);
            }
        }
        if (info.TraceInfoStep != TraceInfoStep.AfterExecute) return;
        var counter = _statements.GetOrAdd(Kind(info.Command?.CommandText ?? info.SqlText ?? ""), _ => new Counter());
        Interlocked.Increment(ref counter.Calls);
        if (info.RecordsAffected is > 0 and var rows) Interlocked.Add(ref counter.Amount, rows);
    }

    /// <summary>A statement's kind and table: "INSERT journal", "UPDATE journal", "SELECT journal", "DELETE snapshot".</summary>
    public static string Kind(string sql)
    {
        var match = StatementPattern().Match(sql);
        if (!match.Success) return Regex.Replace(sql.Trim(), @"\s+", " ") is var other && other.Length > 50 ? other[..50] : other;
        var verb = match.Groups[1].Value.ToUpperInvariant();
        return $"{(verb.StartsWith("SELECT", StringComparison.Ordinal) ? "SELECT" : verb.Split(' ')[0])} {match.Groups[2].Value}";
    }

    [GeneratedRegex(@"^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|SELECT\b[\s\S]*?\bFROM)\s+[\[""`]?(\w+)", RegexOptions.IgnoreCase)]
    private static partial Regex StatementPattern();

    [GeneratedRegex(@"^[A-Z]\w+\.v\d+$")]
    private static partial Regex ManifestPattern();

    public void Dispose()
    {
        DataConnection.TurnTraceSwitchOn(TraceLevel.Off);
    }
}

/// <summary>
/// A reading of <see cref="SqlTrace"/>: statements by kind (calls, rows changed or read), inserted binary values by
/// manifest (values, bytes), transactions begun.
/// </summary>
public sealed record SqlCounts(
    IReadOnlyDictionary<string, (long Calls, long Rows)> Statements,
    IReadOnlyDictionary<string, (long Values, long Bytes)> Payloads,
    long Transactions)
{
    /// <summary>What happened between <paramref name="before"/> and this reading.</summary>
    public SqlCounts Minus(SqlCounts before) => new(
        Statements.ToDictionary(s => s.Key, s => (s.Value.Calls - before.Statements.GetValueOrDefault(s.Key).Calls, s.Value.Rows - before.Statements.GetValueOrDefault(s.Key).Rows)),
        Payloads.ToDictionary(p => p.Key, p => (p.Value.Values - before.Payloads.GetValueOrDefault(p.Key).Values, p.Value.Bytes - before.Payloads.GetValueOrDefault(p.Key).Bytes)),
        Transactions - before.Transactions);

    /// <summary>Every statement.</summary>
    public long StatementCount => Statements.Values.Sum(s => s.Calls);

    /// <summary>Rows of statements whose kind starts with <paramref name="verb"/> (INSERT, UPDATE, DELETE).</summary>
    public long Rows(string verb) => Statements.Where(s => s.Key.StartsWith(verb, StringComparison.Ordinal)).Sum(s => s.Value.Rows);

    /// <summary>Bytes of every inserted binary value.</summary>
    public long PayloadBytes => Payloads.Values.Sum(p => p.Bytes);

    /// <summary>
    /// Whether some INSERT wrote several rows: the plugin's batches of writes from several accounts, whose values linq2db
    /// writes into the statement's text rather than as parameters, so that <see cref="Payloads"/> misses them.
    /// </summary>
    public bool Batched => Statements.Any(s => s.Key.StartsWith("INSERT", StringComparison.Ordinal) && s.Value.Rows > s.Value.Calls);
}
