using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using Supervisor.Actors.Account;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Protocol;
using static Supervisor.Actors.Accounts.RegistryCommands;
using static Supervisor.Actors.Accounts.RegistryEvents;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Accounts;

/// <summary>
/// One bucket of the account registry, a sharded entity (the DID's hash picks the bucket): which accounts exist,
/// their handles, their last status, and when each idle account is due again (its proactive refresh, keep-alive
/// or logout retry). It journals registrations, handle changes and rests, and wakes each resting account through
/// the account shard region when it is due. An account that stops without resting (its node was lost) is started
/// again at once, on a node that is up. A start reads no idle account's journal: only accounts that are due, or
/// that never rested (they were running when the cluster stopped), are started.
/// Bucket 0 also moves the registry written before the cluster (<c>account-registry</c>) into the buckets, once.
/// </summary>
public sealed class RegistryBucket : ReceivePersistentActor, IWithTimers
{
    /// <summary>The sharding type name of the registry.</summary>
    public const string TypeName = "account-registry";

    /// <summary>The DistributedPubSub topic of <see cref="DirectoryChanged"/>.</summary>
    public const string DirectoryTopic = "account-directory";

    /// <summary>The journal of the registry before the cluster: one persistence id for every account.</summary>
    public const string LegacyPersistenceId = "account-registry";

    private sealed class Entry(string? handle)
    {
        public string? Handle = handle;
        public DateTimeOffset? WakeAt;
        public AccountStatus? Status;
        public IActorRef? Running;
        public bool Rested;
        /// <summary>
        /// The run whose rest this is: a status it reported before, arriving after (the long way, through its node's
        /// gateway), is old. Its node's address and its actor's uid, not its ref: a ref kept here kept the stopped actor's
        /// cell (and all Akka held for it) in memory for as long as the account rested.
        /// </summary>
        public (Address Node, long Uid)? RestedBy;
        public DateTimeOffset? NextWake;
    }

    private sealed record WakeDue
    {
        public static readonly WakeDue Instance = new();
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly int _bucket;
    private readonly AccountSettings _settings;
    private readonly TimeProvider _time;
    private readonly Func<IActorRef> _accounts;
    private readonly SupervisorMetrics _metrics;
    private readonly SortedDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _watched = new();
    private readonly WakeQueue _wakes = new();
    private readonly Queue<string> _startQueue = new();
    private readonly HashSet<string> _starting = new(StringComparer.Ordinal);
    private readonly int _startsAtOnce;
    private readonly Dictionary<string, IActorRef> _registering = new(StringComparer.Ordinal);
    private bool _legacyImported;
    private int _legacyPending = -1;
    private int _legacyCount;

    /// <summary>The journal id of the bucket that holds <paramref name="did"/>.</summary>
    public static string PersistenceIdFor(string did, int buckets) => TypeName + "-" + Buckets.Of(did, buckets);

    /// <summary>Props for bucket <paramref name="bucket"/>; <paramref name="accounts"/> gives the account shard region.</summary>
    public static Props Props(int bucket, int buckets, AccountSettings settings, TimeProvider time, SupervisorMetrics metrics, Func<IActorRef> accounts) =>
        Akka.Actor.Props.Create(() => new RegistryBucket(bucket, buckets, settings, time, metrics, accounts));

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Creates bucket <paramref name="bucket"/> of <paramref name="buckets"/>.</summary>
    public RegistryBucket(int bucket, int buckets, AccountSettings settings, TimeProvider time, SupervisorMetrics metrics, Func<IActorRef> accounts)
    {
        _metrics = metrics;
        _bucket = bucket;
        _settings = settings;
        _time = time;
        _accounts = accounts;
        _startsAtOnce = Math.Max(1, settings.StartupBatch / Math.Max(buckets, 1));
        PersistenceId = TypeName + "-" + bucket;

        Recover<AccountRegistered>(Register);
        Recover<AccountHandleChanged>(e => EntryOf(e.Did).Handle = e.Handle);
        Recover<AccountRested>(Rest);
        Recover<AccountWoke>(e => EntryOf(e.Did).Rested = false);
        Recover<LegacyRegistryImported>(_ => _legacyImported = true);
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not RegistryBucketSnapshot snapshot) return;
            _legacyImported = snapshot.LegacyImported;
            foreach (var e in snapshot.Accounts)
                _entries[e.Did] = new Entry(e.Handle) { WakeAt = e.WakeAt, Status = e.Status, Rested = e.Rested };
        });
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<RegisterAccount>(OnRegister);
        Command<AccountRunning>(OnRunning);
        Command<AccountResting>(OnResting);
        Command<Terminated>(OnTerminated);
        Command<ListBucket>(list => Sender.Tell(AccountPage.Page(Candidates(list.Query), list.Query)));
        Command<CountBucket>(_ => Sender.Tell(Counts()));
        Command<GetDirectory>(_ => Sender.Tell(new BucketDirectory(_bucket, _entries.Select(e => new RegistryEntry(e.Key, e.Value.Handle)).ToList())));
        Command<LookupAccount>(lookup => Sender.Tell(_entries.TryGetValue(lookup.Did, out var entry)
            ? StatusOf(lookup.Did, entry)
            : new AccountNotFound(lookup.Did)));
        Command<KeepBucketAwake>(_ => { });
        Command<AccountCommands.GetAccountStatus>(OnStatusAsked);
        Command<WakeDue>(_ => WakeDueAccounts());
        Command<AccountRegistration>(OnLegacyRegistered);
        Command<LegacyRegistry>(OnLegacyRegistry);
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "Registry bucket {Bucket}: snapshot failed", _bucket));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning(f.Cause, "Registry bucket {Bucket}: deleting old journal entries failed", _bucket));
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    private Entry EntryOf(string did)
    {
        if (!_entries.TryGetValue(did, out var entry)) _entries[did] = entry = new Entry(null);
        return entry;
    }

    private void Register(AccountRegistered e)
    {
        if (_entries.TryGetValue(e.Did, out var entry)) entry.Handle ??= e.Handle;
        else _entries[e.Did] = new Entry(e.Handle);
    }

    private void Rest(AccountRested e)
    {
        var entry = EntryOf(e.Did);
        entry.WakeAt = e.WakeAt;
        entry.Status = e.Status;
        entry.Rested = true;
    }

    private void OnRecovered()
    {
        // Due accounts wake when due; those that never rested were running when the cluster stopped (or are
        // new): they start now, a few at a time, and rest with their due time once idle.
        foreach (var (did, entry) in _entries)
        {
            if (entry.Rested && entry.Status is { } status) _metrics.Accounts.Report(did, status.State, 0);
            else _metrics.Accounts.Recovering(did);
            if (!entry.Rested) _startQueue.Enqueue(did);
            else if (entry.WakeAt is { } at) WakeAt(did, entry, at);
        }
        _log.Info("Registry bucket {Bucket}: {AccountCount} accounts, {Starting} to start now, {Resting} resting until due",
            _bucket, _entries.Count, _startQueue.Count, _wakes.Count);
        ArmWake();
        StartQueued();
        if (_bucket == 0 && !_legacyImported) ImportLegacyRegistry();
    }

    // ------------------------------------------------------------------ registrations

    private void OnRegister(RegisterAccount register)
    {
        var replyTo = Sender;
        if (_entries.ContainsKey(register.Did))
        {
            replyTo.Tell(new AccountRegistration(register.Did, true));
            return;
        }
        _registering[register.Did] = replyTo;
        Persist(new AccountRegistered(register.Did, register.Handle), e =>
        {
            _registering.Remove(e.Did);
            Register(e);
            PublishDirectory(e.Did, e.Handle);
            if (register.StartNow)
            {
                _startQueue.Enqueue(e.Did);
                StartQueued();
            }
            replyTo.Tell(new AccountRegistration(e.Did, true));
            SnapshotNow();
        });
    }

    private void OnRunning(AccountRunning running)
    {
        var status = running.Status;
        if (!_entries.TryGetValue(status.Did, out var entry)) return; // an account that was never registered
        if (entry.Rested && entry.RestedBy is { } run && run.Equals(RunOf(Sender))) return; // sent before its rest (which wins), it came the long way
        var woke = entry.Rested;
        entry.Status = status;
        entry.Rested = false;
        entry.NextWake = null;
        // Journaled: after a crash the journal must not say it rests (until a wake weeks away) while it may be refreshing.
        if (woke) Persist(new AccountWoke(status.Did), _ => SnapshotNow());
        if (_starting.Remove(status.Did)) StartQueued();
        if (!Sender.Equals(entry.Running) && !Sender.IsNobody())
        {
            if (entry.Running is { } earlier) Forget(earlier);
            entry.Running = Sender;
            _watched[Sender] = status.Did;
            Context.Watch(Sender);
        }
        NoteHandle(entry, status);
    }

    /// <summary>Journals and publishes the handle an account's status names, when it changed.</summary>
    private void NoteHandle(Entry entry, AccountStatus status)
    {
        if (status.Handle is not { } handle || handle == entry.Handle || handle == Identity.SessionIdentity.InvalidHandle && entry.Handle is null) return;
        Persist(new AccountHandleChanged(status.Did, handle), e =>
        {
            entry.Handle = e.Handle;
            _log.Info("Account {Did} changed its handle to {Handle}", e.Did, e.Handle);
            PublishDirectory(e.Did, e.Handle);
            SnapshotNow();
        });
    }

    private void OnResting(AccountResting resting)
    {
        if (!_entries.TryGetValue(resting.Did, out var entry)) return;
        if (entry.Running is { } running) Forget(running);
        entry.Running = null;
        entry.RestedBy = Sender.IsNobody() ? null : RunOf(Sender);
        Rest(new AccountRested(resting.Did, resting.WakeAt, resting.Status));
        entry.NextWake = null;
        if (resting.WakeAt is { } at) WakeAt(resting.Did, entry, at);
        // Journaled so that a restart (or another node) wakes it in time without reading its journal first.
        Persist(new AccountRested(resting.Did, resting.WakeAt, resting.Status), _ => SnapshotNow());
        NoteHandle(entry, resting.Status); // its last report may come after its rest, the long way, and be dropped
    }

    /// <summary>Which run of its account <paramref name="account"/> is: its node and its actor's uid (every run of an account has the same path; Address compares by value).</summary>
    private static (Address Node, long Uid) RunOf(IActorRef account) => (account.Path.Address, account.Path.Uid);

    private void OnTerminated(Terminated terminated)
    {
        if (!_watched.Remove(terminated.ActorRef, out var did) || !_entries.TryGetValue(did, out var entry)) return;
        if (!Equals(entry.Running, terminated.ActorRef)) return;
        entry.Running = null;
        // Stops on its own node rest first (passivation, hand-over) or are restarted by that node's gateway (journal
        // failures); an account whose node is gone starts again elsewhere, after a moment.
        if (entry.Rested || !terminated.AddressTerminated) return;
        _log.Info("Account {Did} was lost with its node; starting it again on a node that is up", did);
        WakeAt(did, entry, Now + TimeSpan.FromSeconds(2));
    }

    private void Forget(IActorRef account)
    {
        _watched.Remove(account);
        Context.Unwatch(account);
    }

    /// <summary>A resting account's status is its journaled one: it is not started to answer; any other account answers itself.</summary>
    private void OnStatusAsked(AccountCommands.GetAccountStatus ask)
    {
        if (!_entries.TryGetValue(ask.AccountId, out var entry))
        {
            Sender.Tell(new AccountNotFound(ask.AccountId));
            return;
        }
        if (entry is { Running: null, Rested: true, Status: not null })
        {
            Sender.Tell(StatusOf(ask.AccountId, entry));
            return;
        }
        _accounts().Tell(new ShardingEnvelope(ask.AccountId, ask), Sender);
    }

    // ------------------------------------------------------------------ waking

    private void WakeAt(string did, Entry entry, DateTimeOffset at)
    {
        entry.NextWake = at;
        QueueWake(did, at);
        ArmWake();
    }

    private void WakeDueAccounts()
    {
        var now = Now;
        while (_wakes.TryPeek(out var did, out var at) && at <= now + TimeSpan.FromSeconds(1))
        {
            _wakes.Dequeue();
            // Only the latest wake of an account counts; one that runs keeps its own time.
            if (!_entries.TryGetValue(did, out var entry) || entry.NextWake != at || entry.Running is not null) continue;
            // A start that did not report within its time frees its place in the turns.
            if (_starting.Remove(did)) StartQueued();
            Wake(did, entry);
        }
        ArmWake();
    }

    /// <summary>
    /// Starts the account through the shard region; should it not report within 30 s (its start failed: the journal
    /// did not answer), it is woken again.
    /// </summary>
    private void Wake(string did, Entry entry)
    {
        // Through this node's gateway (not started yet: the retry below wakes it).
        Context.System.ActorSelection("/user/" + AccountsSupervisor.Name).Tell(new WakeAccount(did));
        entry.NextWake = Now + TimeSpan.FromSeconds(30);
        QueueWake(did, entry.NextWake.Value);
    }

    private void QueueWake(string did, DateTimeOffset at) => _wakes.Add(did, at, _entries.Count, () =>
        from account in _entries where account.Value.NextWake is not null select (account.Key, account.Value.NextWake!.Value));

    private void ArmWake()
    {
        if (!_wakes.TryPeek(out _, out var next)) return;
        var delay = next - Now;
        if (delay < TimeSpan.Zero) delay = TimeSpan.Zero;
        if (delay > TimeSpan.FromHours(1)) delay = TimeSpan.FromHours(1);
        Timers.StartSingleTimer("wake", WakeDue.Instance, delay);
    }

    /// <summary>
    /// Starts the accounts that were running when the cluster stopped, in turns: at most startup-batch / buckets of this
    /// bucket read their journal at once (an account asked for meanwhile starts at once, ahead of them).
    /// </summary>
    private void StartQueued()
    {
        while (_starting.Count < _startsAtOnce && _startQueue.TryDequeue(out var did))
        {
            if (!_entries.TryGetValue(did, out var entry) || entry.Running is not null || entry.Rested) continue;
            _starting.Add(did);
            Wake(did, entry);
        }
        ArmWake();
    }

    /// <summary>
    /// What changes the registry comes from the supervisor's actors (the accounts, the accounts supervisors, the buckets):
    /// from outside the cluster it would list accounts of its making, rest an account for good, or keep one from waking.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message) =>
        Cluster.ClusterOutsiders.DropsForeign(Context, message, message is RegisterAccount or AccountRunning or AccountResting or AccountRegistration)
        || base.AroundReceive(receive, message);

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // The bucket stops after this (and starts again with the next message); whoever waits for a registration hears now.
        foreach (var (did, replyTo) in _registering) replyTo.Tell(new AccountRegistration(did, false));
        _registering.Clear();
        _log.Error("Registry bucket {Bucket}: the journal failed to write {EventType} ({Error})", _bucket, @event.GetType().Name, cause.GetBaseException().Message);
    }

    // ------------------------------------------------------------------ answers

    /// <summary>
    /// The statuses that <paramref name="query"/>'s page may hold, by DID: those after its cursor that match it, each made
    /// only when it does, so that a page (or a filter that matches nothing) costs a pass over the entries, not a status each.
    /// </summary>
    private IEnumerable<AccountStatus> Candidates(AccountCommands.ListAccounts query)
    {
        var after = AccountPage.After(query);
        foreach (var (did, entry) in _entries)
            if ((after is null || string.CompareOrdinal(did, after) > 0) && AccountPage.Matches(did, HandleOf(entry), StateOf(entry), query))
                yield return StatusOf(did, entry);
    }

    /// <summary>
    /// Its last status; one that waits to start (it was running when the cluster stopped) shows as Recovering. One that
    /// does not run (it rests, or waits to start) runs on no node: its last one may have left the cluster since.
    /// </summary>
    private static AccountStatus StatusOf(string did, Entry entry) => entry.Status is { } status
        ? status with { Handle = HandleOf(entry), State = StateOf(entry), Node = entry.Running is null ? null : status.Node }
        : new AccountStatus(did, entry.Handle, null, null, AccountStateName.Recovering, null, null, null, null, 0, 0, null, 0);

    private static string? HandleOf(Entry entry) => entry.Handle ?? entry.Status?.Handle;

    private static AccountStateName StateOf(Entry entry) =>
        entry is { Rested: false, Running: null } || entry.Status is null ? AccountStateName.Recovering : entry.Status.State;

    private AccountCounts Counts()
    {
        // Passivated are those that rested: one stopped whose rest has not arrived yet (its Terminated can come first)
        // or one waiting to start is neither, so a count of all passivated means every rest is journaled.
        var running = _entries.Values.Count(e => e.Running is not null);
        var passivated = _entries.Values.Count(e => e.Running is null && e.Rested);
        return AccountPage.Count(_entries.Values.Select(e => (StateOf(e), e.Status?.UnjournaledEvents ?? 0)), running, passivated);
    }

    private void PublishDirectory(string did, string? handle) =>
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Publish(DirectoryTopic, new DirectoryChanged(did, handle)));

    private void SnapshotNow()
    {
        if (LastSequenceNr % Math.Max(_settings.SnapshotEvery * 20, 20) != 0) return;
        SaveSnapshot(new RegistryBucketSnapshot(
            _entries.Select(e => new RegistryBucketEntry(e.Key, e.Value.Handle, e.Value.Rested ? e.Value.WakeAt : null, e.Value.Status, e.Value.Rested)).ToList(),
            _legacyImported));
    }

    // ------------------------------------------------------------------ the registry before the cluster

    /// <summary>The accounts of the registry written before the cluster, read by <see cref="LegacyRegistryReader"/>.</summary>
    public sealed record LegacyRegistry(IReadOnlyList<RegistryEntry> Accounts);

    private void ImportLegacyRegistry() => Context.ActorOf(LegacyRegistryReader.Props(LegacyPersistenceId), "legacy-registry");

    private void OnLegacyRegistry(LegacyRegistry legacy)
    {
        Context.Stop(Sender);
        _legacyCount = legacy.Accounts.Count;
        _legacyPending = legacy.Accounts.Count;
        if (_legacyPending == 0)
        {
            Persist(new LegacyRegistryImported(0), _ => _legacyImported = true);
            return;
        }
        _log.Info("Registry: moving {AccountCount} accounts of the registry written before the cluster into the buckets", _legacyCount);
        var registry = ClusterSharding.Get(Context.System).ShardRegion(TypeName);
        var buckets = _settings.RegistryBuckets;
        foreach (var entry in legacy.Accounts)
            registry.Tell(Buckets.To(entry.Did, buckets, new RegisterAccount(entry.Did, entry.Handle, StartNow: true)));
    }

    private void OnLegacyRegistered(AccountRegistration registration)
    {
        if (_legacyPending <= 0 || !registration.Registered) return;
        if (--_legacyPending > 0) return;
        Persist(new LegacyRegistryImported(_legacyCount), _ =>
        {
            _legacyImported = true;
            _log.Info("Registry: {AccountCount} accounts moved into the buckets", _legacyCount);
        });
    }
}
