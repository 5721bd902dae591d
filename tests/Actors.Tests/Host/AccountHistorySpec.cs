using Supervisor.Actors.Events;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Events;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The per-account history behind the account pages: the last 50 events an account, compact, bounded in total, never a token.</summary>
public sealed class AccountHistorySpec
{
    private static SessionEvent Event(string did, SessionEventKind kind, DateTimeOffset at, XrpcError? error = null, SessionGrant? session = null) =>
        new(kind, did, "alice.test", "https://pds.test", kind == SessionEventKind.UpdateFailure ? AccountStateName.Degraded : AccountStateName.Active, error, at, session);

    [Fact]
    public void An_account_keeps_its_last_50_events_oldest_first()
    {
        var history = new AccountHistory();
        var start = DateTimeOffset.UtcNow;
        for (var i = 0; i < 120; i++) history.Record(Event("did:plc:a", SessionEventKind.Refresh, start.AddMinutes(i)));
        history.Record(Event("did:plc:b", SessionEventKind.Create, start));

        var kept = history.Of("did:plc:a");
        Assert.Equal(AccountHistory.PerAccount, kept.Count);
        Assert.Equal(Enumerable.Range(70, 50).Select(i => start.AddMinutes(i)), kept.Select(e => e.At));
        Assert.Single(history.Of("did:plc:b"));
        Assert.Empty(history.Of("did:plc:unknown"));
    }

    [Fact]
    public void The_history_stays_within_its_budget_by_dropping_the_oldest_events_of_all_accounts()
    {
        var history = new AccountHistory(budgetBytes: 64 * 1024);
        var start = DateTimeOffset.UtcNow;
        var longError = new XrpcError("UpstreamFailure", new string('x', 10_000));
        for (var i = 0; i < 5_000; i++)
        {
            history.Record(Event($"did:plc:{i % 700}", i % 3 == 0 ? SessionEventKind.UpdateFailure : SessionEventKind.Refresh, start.AddSeconds(i), i % 3 == 0 ? longError : null));
            Assert.True(history.ChargedBytes <= history.BudgetBytes, $"{history.ChargedBytes} bytes charged after {i + 1} events");
        }
        // The newest event is kept; the first accounts' old events are gone.
        Assert.Equal(start.AddSeconds(4_999), history.Of($"did:plc:{4_999 % 700}")[^1].At);
        Assert.DoesNotContain(history.Of("did:plc:0"), e => e.At < start.AddSeconds(700));
        Assert.All(Enumerable.Range(0, 700).SelectMany(i => history.Of($"did:plc:{i}")), e => Assert.True(e.Reason is null || e.Reason.Length <= AccountHistory.MaxReasonLength));
    }

    [Fact]
    public void An_entry_keeps_the_time_kind_state_and_a_cut_reason_and_never_a_token()
    {
        var grant = new SessionGrant("did:plc:t", "t.test", TestJwt.Pair("did:plc:t", DateTimeOffset.UtcNow));
        var history = new AccountHistory();
        history.Record(Event("did:plc:t", SessionEventKind.Refresh, DateTimeOffset.UtcNow, session: grant));
        history.Record(Event("did:plc:t", SessionEventKind.UpdateFailure, DateTimeOffset.UtcNow, new XrpcError("InternalServerError", new string('y', 1_000))));

        var kept = history.Of("did:plc:t");
        Assert.Equal([SessionEventKind.Refresh, SessionEventKind.UpdateFailure], kept.Select(e => e.Kind));
        Assert.Equal([AccountStateName.Active, AccountStateName.Degraded], kept.Select(e => e.State));
        Assert.Null(kept[0].Reason);
        Assert.StartsWith("InternalServerError: yyy", kept[1].Reason);
        Assert.Equal(AccountHistory.MaxReasonLength, kept[1].Reason!.Length);
        // A HistoryEntry has no field that could hold a token: time, kind, state and reason only.
        Assert.Equal(["At", "Kind", "State", "Reason"], typeof(HistoryEntry).GetProperties().Where(p => p.Name != "IsFailure").Select(p => p.Name));
        Assert.Empty(Secrets.JwtsIn(string.Join('\n', kept.Select(e => e.ToString()))));
    }
}
