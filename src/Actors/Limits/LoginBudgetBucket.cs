using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Supervisor.Actors.Serialization;
using Supervisor.Actors.Accounts;
using static Supervisor.Actors.Accounts.RegistryEvents;

namespace Supervisor.Actors.Limits;

/// <summary>
/// One bucket of the login budgets, a sharded entity (the budget key's hash picks the bucket): the recent
/// createSession attempts of each identifier at each service, journaled before the call is made, so that no
/// node, restart or node loss lets an identifier exceed its budget.
/// </summary>
public sealed class LoginBudgetBucket : ReceivePersistentActor
{
    /// <summary>The sharding type name of the login budgets.</summary>
    public const string TypeName = "login-budget";

    /// <summary>May one more login of <paramref name="Key"/> be made now within <paramref name="Windows"/>? Answered with <see cref="LoginAllowed"/> (journaled) or <see cref="LoginBudgetSpent"/>.</summary>
    public sealed record SpendLogin(string Key, IReadOnlyList<BudgetWindow> Windows) : IWireMessage, Cluster.IBucketRequest;

    /// <summary>The attempt is counted and journaled: the login may be made.</summary>
    public sealed record LoginAllowed(string Key) : IWireMessage;

    /// <summary>The attempt could not be journaled (the journal failed): no login may be made now.</summary>
    public sealed record LoginNotCounted(string Key) : IWireMessage;

    /// <summary>The budget is spent until <paramref name="RetryAt"/> (the window <paramref name="Spent"/>).</summary>
    public sealed record LoginBudgetSpent(string Key, DateTimeOffset RetryAt, BudgetWindow Spent) : IWireMessage;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly LoginAttemptTable _attempts;
    private readonly List<(string Key, IActorRef ReplyTo)> _waiting = new();
    private readonly TimeProvider _time;
    private readonly int _snapshotEvery;

    /// <summary>Props for bucket <paramref name="bucket"/>.</summary>
    public static Props Props(int bucket, LoginBudgetSettings settings, TimeProvider time, int snapshotEvery) =>
        Akka.Actor.Props.Create(() => new LoginBudgetBucket(bucket, settings, time, snapshotEvery));

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <summary>Creates bucket <paramref name="bucket"/>.</summary>
    public LoginBudgetBucket(int bucket, LoginBudgetSettings settings, TimeProvider time, int snapshotEvery)
    {
        PersistenceId = TypeName + "-" + bucket;
        _time = time;
        _attempts = new LoginAttemptTable(settings.Longest);
        _snapshotEvery = Math.Max(snapshotEvery, 1) * 20;

        Recover<LoginAttempted>(Record);
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is RegistrySnapshot snapshot)
                foreach (var logins in snapshot.Logins ?? [])
                    foreach (var at in logins.At) Record(new LoginAttempted(logins.Key, at));
        });

        Command<SpendLogin>(OnSpend);
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "Login budget bucket: snapshot failed"));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
    }

    private void OnSpend(SpendLogin spend)
    {
        var now = _time.GetUtcNow();
        if (LoginBudget.RetryAt(_attempts.Of(spend.Key), now, spend.Windows) is { } spent)
        {
            Sender.Tell(new LoginBudgetSpent(spend.Key, spent.At, spent.Spent));
            return;
        }
        var replyTo = Sender;
        _waiting.Add((spend.Key, replyTo));
        // Journaled before the answer: a login is made only once it is counted where every node will see it.
        Persist(new LoginAttempted(spend.Key, now), e =>
        {
            _waiting.Remove((spend.Key, replyTo));
            Record(e);
            replyTo.Tell(new LoginAllowed(spend.Key));
            if (LastSequenceNr % _snapshotEvery != 0) return;
            SaveSnapshot(new RegistrySnapshot([], _attempts.Recent(now)));
        });
    }

    /// <summary>
    /// An attempt is spent by the accounts supervisor of a node (with the windows it configures): one sent from outside the
    /// cluster would lock an identifier out, or grow the journal with keys of its making.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message) =>
        Cluster.ClusterOutsiders.DropsForeign(Context, message, message is SpendLogin) || base.AroundReceive(receive, message);

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // The bucket stops after this (and starts again with the next message): whoever waits hears now.
        foreach (var (key, replyTo) in _waiting) replyTo.Tell(new LoginNotCounted(key));
        _waiting.Clear();
        _log.Error("Login budget bucket: the journal failed to write an attempt ({Error}); those logins are refused", cause.GetBaseException().Message);
    }

    private void Record(LoginAttempted attempted) => _attempts.Record(attempted.Key, attempted.At);
}
