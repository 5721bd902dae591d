using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Supervisor.Actors.Events;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;
using Supervisor.Host.Events;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// The history behind the account pages, in the journal's database (SQLite, and PostgreSQL through
/// SUPERVISOR_TEST_POSTGRES): the last 50 events an account and no more rows, compact, never a token.
/// </summary>
public sealed class AccountHistorySpec
{
    private static HistoryEntry Entry(SessionEventKind kind, DateTimeOffset at, string? reason = null) =>
        new(at, kind, kind == SessionEventKind.UpdateFailure ? AccountStateName.Degraded : AccountStateName.Active, reason, "10.0.0.1:4053");

    /// <summary>Every row of the history table, each as its columns' text joined by tabs, in the order written.</summary>
    internal static async Task<List<string>> RowsAsync(JournalKind kind, string connectionString)
    {
        await using DbConnection connection = kind == JournalKind.Postgres ? new NpgsqlConnection(connectionString) : new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT did, at_ms, kind, state, reason, node FROM {AccountHistory.Table} ORDER BY id";
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
            rows.Add(string.Join('\t', Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i)))));
        return rows;
    }

    [Theory]
    [InlineData(JournalKind.Sqlite)]
    [InlineData(JournalKind.Postgres)]
    public async Task An_account_keeps_its_last_50_events_oldest_first_and_no_more_rows(JournalKind kind)
    {
        using var journal = new TestJournal(kind);
        var history = new AccountHistory(kind, journal.ConnectionString);
        await history.CreateAsync();
        await history.CreateAsync(); // again, as at every start
        var start = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var events = Enumerable.Range(0, 120).Select(i => ("did:plc:a", Entry(SessionEventKind.Refresh, start.AddMinutes(i)))).ToList();
        foreach (var batch in events.Chunk(37)) await history.AppendAsync([.. batch, ("did:plc:b", Entry(SessionEventKind.Create, start))]);

        var kept = await history.OfAsync("did:plc:a");
        Assert.Equal(AccountHistory.PerAccount, kept.Count);
        Assert.Equal(Enumerable.Range(70, 50).Select(i => start.AddMinutes(i)), kept.Select(e => e.At));
        Assert.Equal(4, (await history.OfAsync("did:plc:b")).Count);
        Assert.Empty(await history.OfAsync("did:plc:unknown"));
        var rows = await RowsAsync(kind, journal.ConnectionString);
        Assert.Equal(AccountHistory.PerAccount, rows.Count(r => r.StartsWith("did:plc:a\t", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_failures_reason_of_160_characters_is_kept_whole_and_one_character_more_is_cut_to_160_with_an_ellipsis()
    {
        HistoryEntry Failed(int reasonLength) => HistoryEntry.Of(new SessionEvent(SessionEventKind.UpdateFailure, "did:plc:t", "t.test", "https://pds.test",
            AccountStateName.Degraded, new XrpcError("E", new string('m', reasonLength - "E: ".Length)), DateTimeOffset.UtcNow), null);

        Assert.Equal("E: " + new string('m', 157), Failed(160).Reason);
        Assert.Equal("E: " + new string('m', 156) + "…", Failed(161).Reason);
    }

    [Theory]
    [InlineData(JournalKind.Sqlite)]
    [InlineData(JournalKind.Postgres)]
    public async Task An_entry_keeps_the_time_kind_state_node_and_a_cut_storable_reason_and_never_a_token(JournalKind kind)
    {
        using var journal = new TestJournal(kind);
        var history = new AccountHistory(kind, journal.ConnectionString);
        await history.CreateAsync();
        var now = DateTimeOffset.UtcNow;
        var grant = new SessionGrant("did:plc:t", "t.test", TestJwt.Pair("did:plc:t", now));
        var refreshed = new SessionEvent(SessionEventKind.Refresh, "did:plc:t", "t.test", "https://pds.test", AccountStateName.Active, null, now, grant);
        // A server's message with a NUL and a lone surrogate (PostgreSQL refuses the one, UTF-8 the other), and too long.
        var failed = new SessionEvent(SessionEventKind.UpdateFailure, "did:plc:t", "t.test", "https://pds.test", AccountStateName.Degraded,
            new XrpcError("InternalServerError", "a\0b\ud800c" + new string('y', 1_000)), now.AddSeconds(1));
        await history.AppendAsync([("did:plc:t", HistoryEntry.Of(refreshed, "10.0.0.1:4053")), ("did:plc:t", HistoryEntry.Of(failed, null))]);

        var kept = await history.OfAsync("did:plc:t");
        Assert.Equal([SessionEventKind.Refresh, SessionEventKind.UpdateFailure], kept.Select(e => e.Kind));
        Assert.Equal([AccountStateName.Active, AccountStateName.Degraded], kept.Select(e => e.State));
        Assert.Equal(["10.0.0.1:4053", null], kept.Select(e => e.Node));
        Assert.Equal(now.ToUnixTimeMilliseconds(), kept[0].At.ToUnixTimeMilliseconds());
        Assert.Null(kept[0].Reason);
        Assert.StartsWith("InternalServerError: a\uFFFDb\uFFFDcyyy", kept[1].Reason);
        Assert.Equal(HistoryEntry.MaxReasonLength, kept[1].Reason!.Length);
        // A row has no column that could hold a token: DID, time, kind, state, reason and node only.
        Assert.Equal(["At", "Kind", "State", "Reason", "Node"], typeof(HistoryEntry).GetProperties().Where(p => p.Name != "IsFailure").Select(p => p.Name));
        Assert.Empty(Secrets.JwtsIn(string.Join('\n', await RowsAsync(kind, journal.ConnectionString))));
    }
}
