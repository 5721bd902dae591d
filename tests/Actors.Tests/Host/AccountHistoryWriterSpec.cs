using System.Diagnostics.Metrics;
using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;
using Supervisor.Host.Events;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// The writer of the accounts' history, with the accounts supervisor and a fake PDS: each event of this node's accounts
/// written once, never a token, and a database outage that costs history, never a refresh.
/// </summary>
public sealed class AccountHistoryWriterSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    private readonly SupervisorMetrics _metrics = new();

    private IActorRef StartWriter(AccountHistory history, int batch = 500, int bound = 10_000) =>
        Sys.ActorOf(AccountHistoryWriter.Props(history, Accounts, "127.0.0.1:4053", _metrics, TimeSpan.FromMilliseconds(3000), batch, bound));

    private Task<List<string>> RowsAsync() => RowsOnceMadeAsync(Journal.ConnectionString);

    /// <summary>The rows, or none while the writer has not made the table (its first write makes it).</summary>
    private static async Task<List<string>> RowsOnceMadeAsync(string database)
    {
        try
        {
            return await AccountHistorySpec.RowsAsync(JournalKind.Sqlite, database);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (e.Message.Contains("no such table", StringComparison.Ordinal))
        {
            return [];
        }
    }

    private static string KindOf(string row) => row.Split('\t')[2];

    [Fact]
    public async Task Each_event_of_an_account_on_this_node_is_written_once_with_the_node_and_never_a_token()
    {
        var writer = StartWriter(new AccountHistory(JournalKind.Sqlite, Journal.ConnectionString));
        var alice = await LoggedInAsync();
        for (var i = 0; i < 2; i++) Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(alice.Did)));
        // An event of an account on another node reaches this node's hub through the topic: that node writes it, not this
        // one. The hub hands on in order: once the event of this node that follows it is written, it would have been too.
        var hub = Sys.ActorSelection(Accounts.Path / "session-events");
        SessionEvent Refreshed(string did) => new(SessionEventKind.Refresh, did, "e.test", Pds.Url, AccountStateName.Active, null, DateTimeOffset.UtcNow);
        hub.Tell(new SessionEventHub.PublishedSessionEvent(Refreshed("did:plc:elsewhere")));
        hub.Tell(Refreshed("did:plc:here"));
        // An event that still carries its tokens (the hub strips them first; the writer does not rely on it).
        var now = DateTimeOffset.UtcNow;
        writer.Tell(new SessionEvent(SessionEventKind.Refresh, "did:plc:direct", "d.test", Pds.Url, AccountStateName.Active, null, now,
            new SessionGrant("did:plc:direct", "d.test", TestJwt.Pair("did:plc:direct", now))));

        var rows = new List<string>();
        List<string> Of(string did) => rows.Where(r => r.StartsWith(did + "\t", StringComparison.Ordinal)).ToList();
        await EventuallyAsync(async () =>
        {
            rows = await RowsAsync();
            return Of(alice.Did).Count == 3 && Of("did:plc:here").Count == 1 && Of("did:plc:direct").Count == 1;
        }, TimeSpan.FromSeconds(10), "the events to be written");
        Assert.Same(AccountHistoryWriter.Flush.Instance, await writer.Ask<AccountHistoryWriter.Flush>(AccountHistoryWriter.Flush.Instance, AskTimeout));
        rows = await RowsAsync();

        Assert.Equal(["Create", "Refresh", "Refresh"], Of(alice.Did).Select(KindOf));
        Assert.Empty(Of("did:plc:elsewhere"));
        Assert.Equal(5, rows.Count);
        Assert.All(rows, r => Assert.EndsWith("\t127.0.0.1:4053", r));
        Assert.Empty(Secrets.JwtsIn(string.Join('\n', rows)));
    }

    [Fact]
    public async Task A_database_outage_drops_the_oldest_events_past_the_bound_counts_them_and_never_stops_a_refresh()
    {
        long dropped = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == _metrics.Meter && instrument.Name == "supervisor.history.dropped") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref dropped, value));
        listener.Start();
        // The history's database cannot be opened (its folder is missing) until the folder is made.
        var folder = Path.Combine(Journal.Folder, "history-down");
        var database = $"Data Source={Path.Combine(folder, "history.db")};Pooling=false";
        StartWriter(new AccountHistory(JournalKind.Sqlite, database), batch: 2, bound: 4);

        var alice = await LoggedInAsync();
        var refreshes = 0;
        for (var i = 0; i < 6; i++)
            if (await AskAsync(new RefreshNow(alice.Did)) is RefreshCompleted) refreshes++;
        Assert.Equal(6, refreshes);
        await EventuallyAsync(() => Task.FromResult(Interlocked.Read(ref dropped) == 3), TimeSpan.FromSeconds(10), "the 3 oldest of 7 events to be dropped");

        Directory.CreateDirectory(folder);
        var kinds = new List<string>();
        await EventuallyAsync(async () =>
        {
            kinds = (await RowsOnceMadeAsync(database)).Select(KindOf).ToList();
            return kinds.Count == 4;
        }, TimeSpan.FromSeconds(10), "the 4 events kept to be written once the database is back");
        Assert.Equal(["Refresh", "Refresh", "Refresh", "Refresh"], kinds);
        Assert.Equal(3, Interlocked.Read(ref dropped));
    }
}
