using Akka.Actor;
using Akka.Event;

namespace Supervisor.Actors.Keys;

/// <summary>
/// This node's copy of the account keys, which its HTTP layer reads (<see cref="AccountKeyIndex"/>). It reads the
/// journal of <see cref="AccountKeys"/> (an <see cref="AccountKeysReader"/>) and registers with the owner (through
/// its singleton proxy, again every heartbeat, <c>supervisor.keys.heartbeat</c>: an owner that moved to another node starts without
/// replicas), then applies each event the owner tells it (<see cref="KeyReplication"/>) in the order of their sequence
/// numbers, skipping those it has and keeping those that come early. When one is missing (lost on the way, or journaled
/// before the owner knew this replica: the next event, or the owner's progress every heartbeat, shows it), it reads
/// the journal again; a read that fails (the journal is out) is tried again after <see cref="RetryAfter"/>. It tells the
/// owner how far it holds the events (<see cref="KeyReplication.KeysHeld"/>) after each change and each time the owner
/// says how far it is, so that a change is answered once this node knows it. It watches the owner it last heard from and
/// registers again as soon as that one stops (the owner moved: its node left or went down), and every half second until
/// a new owner speaks, rather than at the next heartbeat: a new owner answers a change once every node's replica holds
/// it, and waits for those it does not know yet.
/// </summary>
public sealed class AccountKeysReplica : ReceiveActor, IWithTimers
{
    /// <summary>How long after a failed read of the journal it is read again.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    /// <summary>How often it registers while the owner it heard from has stopped and no new one has spoken.</summary>
    public static readonly TimeSpan RegisterAgainEvery = TimeSpan.FromMilliseconds(500);

    private const string RegisterAgain = "register-again";

    private sealed record ReadAgain
    {
        public static readonly ReadAgain Instance = new();
    }

    private sealed record Register
    {
        public static readonly Register Instance = new();
    }

    private readonly AccountKeyIndex _index;
    private readonly IActorRef _owner;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SortedDictionary<long, IKeyEvent> _early = new();
    private AccountKeysState _state = AccountKeysState.Empty;
    private long _sequenceNr = -1;
    private long _ownerAt = -1;
    private IActorRef? _reader;

    /// <summary>The owner this replica last heard from (watched), behind the proxy.</summary>
    private IActorRef? _heardFrom;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for the replica that keeps <paramref name="index"/>, registering with the owner through <paramref name="owner"/> (its proxy).</summary>
    public static Props Props(AccountKeyIndex index, IActorRef owner) => Akka.Actor.Props.Create(() => new AccountKeysReplica(index, owner));

    /// <summary>Registers with the owner and reads the journal.</summary>
    public AccountKeysReplica(AccountKeyIndex index, IActorRef owner)
    {
        _index = index;
        _owner = owner;
        Receive<Register>(_ => owner.Tell(new KeyReplication.RegisterReplica(Self)));
        Receive<KeyReplication.KeyEventJournaled>(journaled =>
        {
            Heard(Sender);
            if (journaled.SequenceNr > _sequenceNr) _early[journaled.SequenceNr] = journaled.Event;
            if (Catch()) Publish();
        });
        Receive<KeyReplication.KeysJournaledUpTo>(progress =>
        {
            Heard(Sender);
            _ownerAt = Math.Max(_ownerAt, progress.SequenceNr);
            if (progress.SequenceNr > _sequenceNr) Read($"the keys are journaled up to {progress.SequenceNr}");
            else CaughtUp();
            if (_sequenceNr >= 0) _owner.Tell(new KeyReplication.KeysHeld(Self, _sequenceNr));
        });
        Receive<AccountKeysReader.KeysRead>(read =>
        {
            if (read.SequenceNr > _sequenceNr) (_state, _sequenceNr) = (read.State, read.SequenceNr);
            Catch();
            Publish();
            CaughtUp();
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_reader), _ =>
        {
            _reader = null;
            if (_sequenceNr < 0) Timers.StartSingleTimer("read", ReadAgain.Instance, RetryAfter);
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_heardFrom), _ =>
        {
            // The proxy may still send to the stopped owner for a moment (it learns of the stop on its own): registered
            // every RegisterAgainEvery until a new owner speaks.
            _heardFrom = null;
            _log.Info("Account keys replica: the keys' owner stopped (it moves); registering with the next one");
            Timers.StartPeriodicTimer(RegisterAgain, Register.Instance, TimeSpan.Zero, RegisterAgainEvery);
        });
        Receive<ReadAgain>(_ => Read("the last read failed"));
    }

    /// <summary>
    /// The owner's events and progress come from a member of the cluster: a system outside it that holds the
    /// certificate could otherwise plant a key of its making in this node's copy, or claim numbers far ahead so that
    /// the owner's own events (revocations too) would be skipped.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message) =>
        Cluster.ClusterOutsiders.DropsForeign(Context, message, message is KeyReplication.KeyEventJournaled or KeyReplication.KeysJournaledUpTo)
        || base.AroundReceive(receive, message);

    /// <summary>Watches <paramref name="owner"/>, the owner a message came from, when it is a new one.</summary>
    private void Heard(IActorRef owner)
    {
        if (owner.IsNobody() || owner.Equals(_heardFrom)) return;
        if (_heardFrom is not null) Context.Unwatch(_heardFrom);
        _heardFrom = owner;
        Context.Watch(owner);
        Timers.Cancel(RegisterAgain);
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("register", Register.Instance, TimeSpan.Zero, AccountKeys.HeartbeatOf(Context.System));
        Read("this node starts");
    }

    /// <summary>
    /// The keys are known on this node once the replica holds what the owner last said it had journaled: until then (a
    /// node that has not joined the cluster yet, or whose first read is still running) requests with a key wait for it
    /// (<see cref="AccountKeyIndex.Loaded"/>) rather than being refused a key issued through another node.
    /// </summary>
    private void CaughtUp()
    {
        if (_ownerAt >= 0 && _sequenceNr >= _ownerAt) _index.MarkLoaded();
    }

    /// <summary>Applies the events that follow the state in order (true when there were some); reads the journal when one is missing.</summary>
    private bool Catch()
    {
        var changed = false;
        foreach (var old in _early.Keys.TakeWhile(n => n <= _sequenceNr).ToList()) _early.Remove(old);
        while (_sequenceNr >= 0 && _early.Remove(_sequenceNr + 1, out var next))
        {
            _state = _state.Apply(next);
            _sequenceNr++;
            changed = true;
        }
        if (_early.Count > 0 && _sequenceNr >= 0) Read($"event {_sequenceNr + 1} is missing");
        return changed;
    }

    /// <summary>Shows the keys as they are now to this node's HTTP layer, and tells the owner that this node holds them.</summary>
    private void Publish()
    {
        _index.Publish(_state, _sequenceNr);
        _owner.Tell(new KeyReplication.KeysHeld(Self, _sequenceNr));
    }

    private void Read(string why)
    {
        if (_reader is not null) return;
        if (_sequenceNr >= 0) _log.Info("Account keys replica at {SequenceNr}: {Reason}; reading the journal again", _sequenceNr, why);
        _reader = Context.ActorOf(AccountKeysReader.Props());
        Context.Watch(_reader);
    }
}
