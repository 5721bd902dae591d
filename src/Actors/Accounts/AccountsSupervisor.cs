using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Supervisor.Actors.Account;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Events;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Session;
using static Supervisor.Actors.Accounts.RegistryCommands;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Accounts;

/// <summary>
/// The accounts' gateway on one node of the cluster (a one-node cluster when nothing else is configured). Accounts are
/// sharded entities (Akka.Cluster.Sharding, entity id the DID), so any node answers for any account; the registry
/// (<see cref="RegistryBucket"/>, sharded by DID) and the login budgets (<see cref="LoginBudgetBucket"/>, sharded by
/// identifier) have one owner in the cluster each, journaled. This actor starts the three shard regions, performs
/// logins and account creations (the password lives only in that call), verifies identities, keeps a directory of
/// DIDs and handles (fed by the registry's buckets, so that no lookup waits on one actor), routes messages, merges
/// listings, passes journal availability to the accounts running on this node, drains them at shutdown, and starts
/// again an account that stopped on a journal failure once the journal answers. New accounts are refused while the
/// journal is unavailable (they could not be recovered after a restart).
/// </summary>
public sealed class AccountsSupervisor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>The name the host gives this actor.</summary>
    public const string Name = "accounts";

    /// <summary>The sharding type name of the accounts.</summary>
    public const string AccountTypeName = "account";

    private sealed record RegionsStarted(IActorRef Accounts, IActorRef Registry, IActorRef Budgets);

    private sealed record DirectoryLoaded(IReadOnlyList<BucketDirectory> Buckets);

    private sealed record StartFailed(Exception Error);

    private sealed record LoadDirectory
    {
        public static readonly LoadDirectory Instance = new();
    }

    private sealed record WarmedUp
    {
        public static readonly WarmedUp Instance = new();
    }

    private sealed record PassivationTick
    {
        public static readonly PassivationTick Instance = new();
    }

    private sealed record KeepAwake
    {
        public static readonly KeepAwake Instance = new();
    }

    /// <summary>Asks the claimants of each contested handle to check theirs again (a check that could not be made, an account that was restarting).</summary>
    private sealed record CheckContested
    {
        public static readonly CheckContested Instance = new();
    }

    /// <summary>How often the claimants of a contested handle are asked again.</summary>
    private static readonly TimeSpan ContestedRecheck = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A contested handle, checked afresh while <paramref name="Claimants"/> claimed it, resolves to <paramref name="Did"/>
    /// and that DID's document lists it; null when it verifies for none of them.
    /// </summary>
    private sealed record ContestDecided(string Handle, string? Did, IReadOnlySet<string> Claimants);

    private sealed record LoginAnswered(LoginOutcome Outcome, string Service, SessionOrigin Origin, IActorRef ReplyTo, string Identifier);

    private sealed record BudgetAnswered(Login Login, string Service, IActorRef ReplyTo, object Answer);

    private sealed record IdentityChecked(AdoptSession Adopt, IActorRef ReplyTo, Identity.IdentityVerdict Verdict);

    private sealed record Registered(AdoptSession Adopt, IActorRef ReplyTo, bool Done);

    private sealed record Routed(string Did, object Message, IActorRef Sender, object Lookup);

    private sealed record RestartAccount(string Did);

    /// <summary>
    /// Sent at shutdown: every account running on this node finishes (and journals) its refresh in flight and starts
    /// no new one. Answered with <see cref="AccountsDrained"/>.
    /// </summary>
    public sealed record DrainAccounts(TimeSpan Timeout);

    /// <summary>How many accounts confirmed the drain.</summary>
    public sealed record AccountsDrained(int Count);

    private static readonly TimeSpan InnerAsk = TimeSpan.FromSeconds(10);

    private readonly PdsClient _client;
    private readonly AccountSettings _settings;
    private readonly SupervisorMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly JournalHealth _journal;
    private readonly ServerLimits _limits;
    private readonly IActorRef _audit;
    private readonly Identity.IdentityResolver? _identity;
    private readonly IActorRef _events;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, string?> _handles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _didsByHandle = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Handles two or more accounts verified (one has lost it since), and the DIDs that claim each.</summary>
    private readonly Dictionary<string, HashSet<string>> _contested = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>
    /// The account actors of this node: their DIDs, since when they run (<see cref="Environment.TickCount64"/>) and their
    /// slot in the passivation sweep (<see cref="_bySlot"/>).
    /// </summary>
    private readonly Dictionary<IActorRef, (string Did, long Since, int Slot)> _local = new();
    /// <summary>The account actors of this node by the tick of the passivation sweep that asks them (none: passivation off).</summary>
    private readonly HashSet<IActorRef>[] _bySlot;
    private long _passivationTicks;
    /// <summary>The accounts running on this node: their actor and last status (dropped when the actor stops).</summary>
    private readonly Dictionary<string, (IActorRef Actor, AccountStatus Status)> _running = new(StringComparer.Ordinal);
    private readonly HashSet<string> _restarting = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (TimeSpan Delay, DateTimeOffset At)> _restartBackoff = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(AdoptSession Session, IActorRef ReplyTo)>> _registering = new(StringComparer.Ordinal);
    private IActorRef _accounts = ActorRefs.Nobody;
    private IActorRef _registry = ActorRefs.Nobody;
    private IActorRef _budgets = ActorRefs.Nobody;
    private bool _stopping;

    /// <summary>Props for the gateway; it creates its own event hub and journal probe.</summary>
    public static Props Props(
        PdsClient client, AccountSettings settings, SupervisorMetrics? metrics = null, TimeProvider? time = null, JournalHealth? journal = null, ServerLimits? limits = null,
        IActorRef? audit = null, Identity.IdentityResolver? identity = null) =>
        Akka.Actor.Props.Create(() => new AccountsSupervisor(client, settings, metrics ?? new SupervisorMetrics(), time ?? TimeProvider.System,
            journal ?? new JournalHealth(), limits ?? new ServerLimits(settings.ServerLimits), audit ?? ActorRefs.Nobody, identity));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <summary>Creates the gateway.</summary>
    public AccountsSupervisor(
        PdsClient client, AccountSettings settings, SupervisorMetrics metrics, TimeProvider time, JournalHealth journal, ServerLimits limits, IActorRef audit,
        Identity.IdentityResolver? identity)
    {
        _client = client;
        _settings = settings;
        _metrics = metrics;
        _time = time;
        _bySlot = new HashSet<IActorRef>[PassivationSlots(settings.PassivateAfter)];
        for (var i = 0; i < _bySlot.Length; i++) _bySlot[i] = new HashSet<IActorRef>();
        _journal = journal;
        _limits = limits;
        _audit = audit;
        _identity = identity;
        _events = Context.ActorOf(SessionEventHub.Props(), "session-events");
        Context.ActorOf(JournalProbe.Props(journal, settings.JournalProbeInterval, settings.JournalProbeTimeout, time), "journal-probe");
        Context.ActorOf(Cluster.LeftBehindRequests.Props(), "left-behind-requests");
        Starting();
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    private int BucketCount => _settings.RegistryBuckets;

    /// <summary>
    /// A handler that fails answers its sender with a failure and the supervisor goes on as it was: a restart would stop
    /// its children (the session events' hub, which the accounts publish to) and answer nobody. What only the
    /// supervisor's actors send (the directory's changes, an account's held events) is dropped from anything else: from
    /// outside the cluster it would route a handle wrongly, or keep an account from its refreshes.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        if (ClusterOutsiders.DropsForeign(Context, message, message is DirectoryChanged or HeldEventsHandover)) return true;
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (Exception e)
        {
            _log.Error("Accounts: handling {MessageType} failed ({ExceptionType}: {Error}); answered as failed, the supervisor goes on",
                message.GetType().Name, e.GetType().Name, e.Message);
            if (!Sender.IsNobody() && !Sender.Equals(Self) && !Sender.Equals(Context.System.DeadLetters))
                Sender.Tell(new Status.Failure(new InvalidOperationException($"the accounts could not handle {message.GetType().Name}; see the supervisor's log")));
            return true;
        }
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        // No seed nodes configured: this node is a cluster of its own.
        if (cluster.Settings.SeedNodes.Count == 0) cluster.Join(cluster.SelfAddress);
        var self = Self;
        var node = cluster.SelfUniqueAddress.Address + "#" + cluster.SelfUniqueAddress.Uid;
        var deps = new AccountDependencies(_client, _settings, _events, _time, _metrics, _journal, _limits, _audit, _identity, self, ActorRefs.Nobody, node);
        Context.System.RegisterOnTermination(deps.Refreshes.Dispose);
        Context.System.Settings.InjectTopLevelFallback(AccountMailbox.Configuration);
        StartRegions(deps).PipeTo(self, success: r => r, failure: e => new StartFailed(e));
        Context.ActorOf(OwnTopic<DirectoryChanged>.Props(RegistryBucket.DirectoryTopic), "directory-topic");
    }

    private async Task<RegionsStarted> StartRegions(AccountDependencies deps)
    {
        var sharding = ClusterSharding.Get(Context.System);
        // Accounts passivate themselves (when idle and nothing is due); sharding's own idle passivation is off. The regions
        // run on the supervisor nodes only: a member with the role client (a shard-region proxy) never hosts a shard.
        var settings = ClusterShardingSettings.Create(Context.System).WithPassivateIdleAfter(TimeSpan.Zero).WithRememberEntities(false)
            .WithRole(ClusterRoles.Supervisor);
        // An id that names no entity of a region (sent straight to it from outside the cluster) starts none of its actors.
        bool IsBucket(string id) => Buckets.IsBucket(id, BucketCount);
        var registry = await sharding.StartAsync(RegistryBucket.TypeName,
            NoSuchEntity.Or(IsBucket, bucket => RegistryBucket.Props(int.Parse(bucket, System.Globalization.CultureInfo.InvariantCulture), BucketCount, _settings, _time, _metrics,
                () => sharding.ShardRegion(AccountTypeName))),
            settings, new ShardEnvelope(BucketCount), ShardAllocationStrategy.LeastShardAllocationStrategy(absoluteLimit: 0, relativeLimit: 0.1), PoisonPill.Instance);
        var shared = deps with { Registry = registry }; // one for every account
        var accounts = await sharding.StartAsync(AccountTypeName, NoSuchEntity.Or(Identity.DidSyntax.IsValid, did => AccountSessionActor.Props(did, shared)), settings,
            new ShardEnvelope(_settings.AccountShards), ShardAllocationStrategy.LeastShardAllocationStrategy(absoluteLimit: 0, relativeLimit: 0.1), StopAccount.Instance);
        var budgets = await sharding.StartAsync(LoginBudgetBucket.TypeName,
            NoSuchEntity.Or(IsBucket, bucket => LoginBudgetBucket.Props(int.Parse(bucket, System.Globalization.CultureInfo.InvariantCulture), _settings.LoginBudget, _time, _settings.SnapshotEvery)),
            settings, new ShardEnvelope(BucketCount), ShardAllocationStrategy.LeastShardAllocationStrategy(absoluteLimit: 0, relativeLimit: 0.1), PoisonPill.Instance);
        return new RegionsStarted(accounts, registry, budgets);
    }

    private static async Task WarmUpAsync(IActorRef registry, PdsClient client, string did, int buckets, TimeSpan within)
    {
        using var limit = new CancellationTokenSource(within);
        var status = await registry.Ask<object>(Buckets.To(did, buckets, new LookupAccount(did)), within, limit.Token);
        if (status is AccountStatus { } known && (known.Pds ?? known.Service) is { } pds) await client.SendAsync(pds, XrpcRequest.Query("com.atproto.server.describeServer"), null, limit.Token);
    }

    // ------------------------------------------------------------------ behaviours

    /// <summary>Until the regions run and the directory is loaded from every registry bucket: everything else waits.</summary>
    private void Starting()
    {
        Receive<RegionsStarted>(started =>
        {
            (_accounts, _registry, _budgets) = (started.Accounts, started.Registry, started.Budgets);
            Timers.StartPeriodicTimer("keep-awake", KeepAwake.Instance, TimeSpan.FromSeconds(5));
            if (_bySlot.Length > 0) Timers.StartPeriodicTimer("passivation", PassivationTick.Instance, _settings.PassivateAfter / _bySlot.Length);
            Self.Tell(LoadDirectory.Instance);
        });
        Receive<StartFailed>(failed => throw new InvalidOperationException("the shard regions could not start", failed.Error));
        Receive<LoadDirectory>(_ =>
        {
            var registry = _registry;
            Task.WhenAll(Enumerable.Range(0, BucketCount).Select(b => registry.AskBucketAsync<BucketDirectory>(Buckets.ToBucket(b, GetDirectory.Instance), InnerAsk)))
                .PipeTo(Self, success: loaded => new DirectoryLoaded(loaded), failure: _ => LoadDirectory.Instance);
        });
        Receive<DirectoryLoaded>(loaded =>
        {
            foreach (var bucket in loaded.Buckets)
                foreach (var entry in bucket.Accounts) Remember(entry.Did, entry.Handle);
            _log.Info("Account directory loaded: {AccountCount} accounts in {Buckets} registry buckets", _handles.Count, BucketCount);
            if (_handles.Keys.FirstOrDefault() is not { } any)
            {
                Self.Tell(WarmedUp.Instance);
                return;
            }
            Context.ActorOf(TokenKeyProbe.Props(any), "token-key-probe");
            // Before anything is answered, one PDS call (describeServer: public, read-only) to the PDS of an account the
            // registry knows: the HTTP client's first call (its code paths, a connection) is paid now and not by the
            // first request after ready (77 ms of the first request in `bench/run recovery`, the next ones 3 to 9 ms).
            WarmUpAsync(_registry, _client, any, BucketCount, _settings.WarmUpLimit).PipeTo(Self, success: () => WarmedUp.Instance, failure: _ => WarmedUp.Instance);
        });
        Receive<WarmedUp>(_ =>
        {
            Become(Ready);
            Stash.UnstashAll();
        });
        Common();
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>What is handled the same way while starting and when ready.</summary>
    private void Common()
    {
        Receive<DirectoryChanged>(changed => Remember(changed.Did, changed.Handle));
        Receive<KeepAwake>(_ =>
        {
            for (var b = 0; b < BucketCount; b++) _registry.Tell(Buckets.ToBucket(b, KeepBucketAwake.Instance));
        });
        Receive<AccountStatusChanged>(OnStatusChanged);
        Receive<PassivationTick>(_ => AskToRest());
        Receive<JournalAvailabilityChanged>(OnJournalAvailabilityChanged);
        Receive<TokenKeyRejected>(OnTokenKeyRejected);
        Receive<SubscribeSessionEvents>(s => _events.Forward(s));
        Receive<SessionEventHub.SubscribeLocalSessionEvents>(s => _events.Forward(s));
        Receive<UnsubscribeSessionEvents>(u => _events.Forward(u));
    }

    /// <summary>Accounts are served.</summary>
    private void Ready()
    {
        Common();
        Receive<Login>(OnLogin);
        Receive<BudgetAnswered>(OnBudgetAnswered);
        Receive<CreateAccount>(OnCreateAccount);
        Receive<ImportSession>(OnImport);
        Receive<LoginAnswered>(OnLoginAnswered);
        Receive<IdentityChecked>(OnIdentityChecked);
        Receive<Registered>(OnRegistered);
        Receive<ListAccounts>(OnList);
        Receive<GetSupervisorCounts>(OnCounts);
        Receive<GetAccountCounts>(OnAccountCounts);
        Receive<Terminated>(OnAccountStopped);
        Receive<RestartAccount>(OnRestartAccount);
        Receive<HeldEventsHandover>(handover =>
        {
            // Sent by an account that stops on a journal failure (what it held is left for its next run, in the node's
            // HeldEventsHandovers): nothing more goes to it through here until it starts again.
            _restarting.Add(handover.Did);
        });
        Receive<DrainAccounts>(OnDrain);
        Receive<Routed>(OnRouted);
        Receive<CheckContested>(_ =>
        {
            if (_contested.Count == 0) Timers.Cancel(nameof(CheckContested));
            foreach (var (handle, claimants) in _contested)
            {
                foreach (var did in claimants) AskToCheckHandle(did);
                DecideContest(handle);
            }
        });
        Receive<ContestDecided>(decided =>
        {
            // Decided for the claimants it was checked for (not one since); the contest stays, checked every minute, until
            // all but one let the handle go: a decision may change with the handle's records.
            if (!_contested.TryGetValue(decided.Handle, out var claimants) || !claimants.SetEquals(decided.Claimants)) return;
            if (_didsByHandle.GetValueOrDefault(decided.Handle) == decided.Did) return;
            if (decided.Did is null)
            {
                _didsByHandle.Remove(decided.Handle);
                return;
            }
            _didsByHandle[decided.Handle] = decided.Did;
            _log.Info("The contested handle {Handle} verifies both ways for {Did}, checked afresh: it finds that account", decided.Handle, decided.Did);
        });
        Receive<WakeAccount>(wake =>
        {
            if (!_restarting.Contains(wake.Did)) _accounts.Tell(new ShardingEnvelope(wake.Did, WakeToRefresh.Instance));
        });
        Receive<IAccountMessage>(Route);
    }

    // ------------------------------------------------------------------ directory

    /// <summary>
    /// Records that <paramref name="did"/> goes by <paramref name="handle"/> (verified both ways when it took it). A handle
    /// that another account verified before, and still holds here, is contested: found for neither (an operator's key, an
    /// export or a logout by handle must not reach the wrong account) until all but one have let it go; each is asked to
    /// check its own again (<see cref="CheckHandle"/>), and the one it no longer resolves to goes as handle.invalid.
    /// </summary>
    private void Remember(string did, string? handle)
    {
        if (_handles.TryGetValue(did, out var old))
        {
            if (string.Equals(old, handle, StringComparison.OrdinalIgnoreCase)) return;
            if (old is not null && _contested.ContainsKey(old)) LetGo(old, did);
            else if (old is not null && _didsByHandle.GetValueOrDefault(old) == did) _didsByHandle.Remove(old);
        }
        _handles[did] = handle;
        if (handle is null or Identity.SessionIdentity.InvalidHandle) return;
        if (_identity is null)
        {
            // Handles not verified (supervisor.identity.verify off): the last to claim one has it.
            _didsByHandle[handle] = did;
            return;
        }
        if (_contested.TryGetValue(handle, out var claimants))
        {
            // A new claimant: the handle finds none of them again until it is decided afresh.
            if (claimants.Add(did)) _didsByHandle.Remove(handle);
            AskToCheckHandle(did);
            DecideContest(handle);
        }
        else if (_didsByHandle.TryGetValue(handle, out var holder) && holder != did)
        {
            _didsByHandle.Remove(handle);
            _contested[handle] = new HashSet<string>(StringComparer.Ordinal) { holder, did };
            _log.Warning("Accounts {Did} and {OtherDid} both verified the handle {Handle}: it finds neither until one lets it go; both check it again",
                did, holder, handle);
            AskToCheckHandle(holder);
            AskToCheckHandle(did);
            DecideContest(handle);
            if (!Timers.IsTimerActive(nameof(CheckContested))) Timers.StartPeriodicTimer(nameof(CheckContested), CheckContested.Instance, ContestedRecheck);
        }
        else
        {
            _didsByHandle[handle] = did;
        }
    }

    /// <summary><paramref name="did"/> no longer claims the contested <paramref name="handle"/>: a last claimant has it alone.</summary>
    private void LetGo(string handle, string did)
    {
        if (!_contested.TryGetValue(handle, out var claimants) || !claimants.Remove(did)) return;
        if (_didsByHandle.GetValueOrDefault(handle) == did) _didsByHandle.Remove(handle); // it was decided for this one
        if (claimants.Count > 1) return;
        _contested.Remove(handle);
        if (claimants.Count == 1) _didsByHandle[handle] = claimants.First();
    }

    /// <summary>
    /// Checks a contested handle from the sources of truth, afresh: when it resolves to one of its claimants and that DID's
    /// document lists it, it is that account's, whatever the others (whose own checks may fail: a document that cannot be
    /// read) still claim.
    /// </summary>
    private void DecideContest(string handle)
    {
        if (_identity is not { } resolver || !_contested.TryGetValue(handle, out var contested)) return;
        var claimants = contested.ToHashSet(StringComparer.Ordinal);
        var self = Self;
        Task.Run(async () =>
        {
            resolver.Forget(handle);
            var resolved = await resolver.ResolveHandleAsync(handle);
            if (resolved.IsTransient) return; // says nothing: the decision stands until the next check
            if (resolved.Did is not { } did || !claimants.Contains(did))
            {
                self.Tell(new ContestDecided(handle, null, claimants));
                return;
            }
            resolver.Forget(did);
            var verified = await resolver.VerifyHandleAsync(did, handle);
            if (!verified.IsTransient) self.Tell(new ContestDecided(handle, verified.Verified ? did : null, claimants));
        });
    }

    private void AskToCheckHandle(string did)
    {
        if (!_restarting.Contains(did)) _accounts.Tell(new ShardingEnvelope(did, CheckHandle.Instance));
    }

    private string? Resolve(string id)
    {
        var key = id.Trim().TrimStart('@');
        if (_handles.ContainsKey(key)) return key;
        return _didsByHandle.GetValueOrDefault(key);
    }

    // ------------------------------------------------------------------ routing

    private void Route(IAccountMessage message)
    {
        var id = message.AccountId.Trim().TrimStart('@');
        if (Resolve(id) is { } did)
        {
            Deliver(did, message, Sender);
            return;
        }
        if (!id.StartsWith("did:", StringComparison.Ordinal))
        {
            Sender.Tell(new AccountNotFound(message.AccountId));
            return;
        }
        // Not in this node's directory yet (registered on another node a moment ago): the DID's bucket knows.
        var sender = Sender;
        _registry.AskBucketAsync<object>(Buckets.To(id, BucketCount, new LookupAccount(id)), InnerAsk)
            .PipeTo(Self, success: answer => new Routed(id, message, sender, answer), failure: e => new Routed(id, message, sender, e));
    }

    private void OnRouted(Routed routed)
    {
        if (routed.Lookup is AccountStatus status)
        {
            Remember(routed.Did, status.Handle);
            Deliver(routed.Did, routed.Message, routed.Sender);
            return;
        }
        routed.Sender.Tell(routed.Lookup is AccountNotFound
            ? new AccountNotFound(((IAccountMessage)routed.Message).AccountId)
            : new AccountUnavailable(routed.Did, AccountStateName.Degraded, JournalUnavailable));
    }

    /// <summary>
    /// Hands a message to an account through the shard region (wherever in the cluster it runs, started if it rests),
    /// or refuses it while it cannot be started (journal down, shutting down).
    /// </summary>
    private void Deliver(string did, object message, IActorRef sender)
    {
        var runningHere = _running.ContainsKey(did);
        if (_restarting.Contains(did) || !runningHere && !_journal.IsAvailable)
        {
            Refuse(did, message, sender, AccountStateName.Degraded, JournalUnavailable);
            return;
        }
        if (!runningHere && _stopping)
        {
            Refuse(did, message, sender, AccountStateName.Degraded, new XrpcError("ShuttingDown", "the supervisor is shutting down"));
            return;
        }
        if (message is GetAccountStatus ask && !runningHere)
            _registry.Tell(Buckets.To(did, BucketCount, ask with { AccountId = did }), sender); // answered there while it rests
        else if (message is AdoptSession session)
            DeliverSession(did, session, sender);
        else
            _accounts.Tell(new ShardingEnvelope(did, message), sender);
    }

    /// <summary>
    /// A new session (of a login, an import, a creation) goes to its account by an Ask of the supervisor's own, whose
    /// answer goes on to <paramref name="replyTo"/>: when sharding drops it because the account's shard is moving, the
    /// node it reached answers <see cref="AccountMoved"/> (<see cref="LeftBehindRequests"/>) and the session alone is sent
    /// again (never the login that made it, which spent a login and perhaps a one-time code), so that its tokens are not lost.
    /// </summary>
    private void DeliverSession(string did, AdoptSession session, IActorRef replyTo) =>
        _accounts.AskAccountAsync(new ShardingEnvelope(did, session), _settings.RequestTimeout * 3)
            .PipeTo(replyTo, success: reply => reply is AccountMoved ? new Status.Failure(new AskTimeoutException($"the account {did} was still moving")) : reply,
                failure: e => new Status.Failure(e));

    private void Refuse(string did, object message, IActorRef sender, AccountStateName state, XrpcError error)
    {
        var unavailable = new AccountUnavailable(did, state, error);
        if (message is not GetAccountStatus)
            sender.Tell(unavailable);
        else if (_running.TryGetValue(did, out var running))
            sender.Tell(running.Status with { State = state, LastError = error });
        else // at rest: its bucket has its last status
            _registry.AskBucketAsync<object>(Buckets.To(did, BucketCount, new LookupAccount(did)), InnerAsk)
                .ContinueWith(t => t.IsCompletedSuccessfully && t.Result is AccountStatus last ? last with { State = state, LastError = error } : (object)unavailable,
                    TaskScheduler.Default)
                .PipeTo(sender);
    }

    // ------------------------------------------------------------------ accounts on this node

    private void OnStatusChanged(AccountStatusChanged changed)
    {
        var status = changed.Status;
        if (!Sender.IsNobody())
        {
            _running[status.Did] = (Sender, status);
            // Its slot is the next tick's: that tick finds it too young, the one a round later finds it has run passivate-after.
            var slot = _bySlot.Length > 0 ? (int)(_passivationTicks % _bySlot.Length) : -1;
            if (_local.TryAdd(Sender, (status.Did, Environment.TickCount64, slot)))
            {
                Context.Watch(Sender);
                if (slot >= 0) _bySlot[slot].Add(Sender);
                // A new run of an account stopped by the journal, started by a message before its restart: it serves again.
                if (_restarting.Remove(status.Did)) Timers.Cancel("restart-" + status.Did);
            }
        }
        if (status.Handle is { } handle && _handles.ContainsKey(status.Did)) Remember(status.Did, handle);
        // The registry keeps it for listings (and starts the account again should this node be lost).
        _registry.Tell(Buckets.To(status.Did, BucketCount, new AccountRunning(status)), Sender);
    }

    private void OnAccountStopped(Terminated t)
    {
        if (!_local.Remove(t.ActorRef, out var local)) return;
        if (local.Slot >= 0) _bySlot[local.Slot].Remove(t.ActorRef);
        var did = local.Did;
        // (A new run of the account may already have reported from another actor: its status stays.)
        if (_running.TryGetValue(did, out var running) && running.Actor.Equals(t.ActorRef)) _running.Remove(did);
        if (_stopping || !_restarting.Contains(did)) return;
        // Stopped on a journal failure: started again after 2 s, then 4, 8... up to a minute while it keeps failing
        // within 5 minutes of the last failure (a journal that reads but refuses writes would otherwise loop).
        var now = Now;
        var delay = _restartBackoff.TryGetValue(did, out var last) && now - last.At < TimeSpan.FromMinutes(5)
            ? TimeSpan.FromTicks(Math.Min(last.Delay.Ticks * 2, TimeSpan.FromMinutes(1).Ticks))
            : TimeSpan.FromSeconds(2);
        _restartBackoff[did] = (delay, now);
        _log.Warning("Account {Did} stopped unexpectedly; restarting it in {Delay} (once the journal answers)", did, delay);
        Timers.StartSingleTimer("restart-" + did, new RestartAccount(did), delay);
    }

    private void OnRestartAccount(RestartAccount restart)
    {
        if (!_restarting.Contains(restart.Did)) return;
        if (!_journal.IsAvailable || _running.ContainsKey(restart.Did))
        {
            Timers.StartSingleTimer("restart-" + restart.Did, restart, TimeSpan.FromSeconds(2));
            return;
        }
        _restarting.Remove(restart.Did);
        _accounts.Tell(new ShardingEnvelope(restart.Did, WakeToRefresh.Instance));
    }

    /// <summary>
    /// Ticks of the passivation sweep in one <see cref="AccountSettings.PassivateAfter"/>: about one a second (at most
    /// 3,600; one when it is shorter than two seconds); none with passivation off.
    /// </summary>
    private static int PassivationSlots(TimeSpan passivateAfter) =>
        passivateAfter > TimeSpan.Zero ? (int)Math.Clamp(passivateAfter.Ticks / TimeSpan.TicksPerSecond, 1, 3600) : 0;

    /// <summary>
    /// Asks the accounts of this tick's slot that have run for <see cref="AccountSettings.PassivateAfter"/> whether they
    /// may rest (each decides: <see cref="AccountSelfMessages.PassivationCheck"/>): each account once every
    /// passivate-after, the first time between passivate-after and a tick more after its start. One timer for the node,
    /// where each running account had a periodic timer of its own (about 0.35 KB in Akka's timer table and wheel), as
    /// sharding's own idle passivation runs one a shard.
    /// </summary>
    private void AskToRest()
    {
        var slot = (int)(_passivationTicks++ % _bySlot.Length);
        // A quarter of a tick's grace: a round of the timer can come a little short of passivate-after (its wheel's 10 ms steps).
        var ranLongEnough = Environment.TickCount64 - (long)(_settings.PassivateAfter - _settings.PassivateAfter / _bySlot.Length / 4).TotalMilliseconds;
        foreach (var account in _bySlot[slot])
            if (_local[account].Since <= ranLongEnough)
                account.Tell(AccountSelfMessages.PassivationCheck.Instance);
    }

    private void OnJournalAvailabilityChanged(JournalAvailabilityChanged changed)
    {
        foreach (var account in _local.Keys) account.Tell(changed);
    }

    private void OnDrain(DrainAccounts drain)
    {
        _stopping = true;
        var asks = _local.Keys
            .Select(c => c.Ask<AccountDrained>(DrainAccount.Instance, drain.Timeout).ContinueWith(t => t.IsCompletedSuccessfully ? 1 : 0, TaskScheduler.Default))
            .ToList();
        Task.WhenAll(asks).PipeTo(Sender, success: counts => new AccountsDrained(counts.Sum()));
    }

    private void OnTokenKeyRejected(TokenKeyRejected rejected)
    {
        if (_stopping) return;
        _stopping = true;
        var message = $"the token key cannot read the journal of account {rejected.Did}: {rejected.Reason}. " +
                      "Start with the key it was written with (SUPERVISOR_KEY, SUPERVISOR_OLD_KEYS or the data folder's token-keys file)";
        _log.Error("Stopping: {Reason}", message);
        CoordinatedShutdown.Get(Context.System).Run(new TokenKeyShutdownReason(message));
    }

    // ------------------------------------------------------------------ listings

    /// <summary>Every bucket answers its own page for the query; the first <c>Limit</c> of their union is the page.</summary>
    private void OnList(ListAccounts query)
    {
        if (AccountPage.Validate(query) is { } invalid)
        {
            Sender.Tell(new InvalidQuery(invalid));
            return;
        }
        var registry = _registry;
        Task.WhenAll(Enumerable.Range(0, BucketCount).Select(b => registry.AskBucketAsync<AccountList>(Buckets.ToBucket(b, new ListBucket(query)), InnerAsk)))
            .PipeTo(Sender, success: pages => AccountPage.Merge(pages, query));
    }

    /// <summary>
    /// Every bucket's counts of <paramref name="registry"/>, added up; a bucket that does not answer within
    /// <paramref name="timeout"/> fails it with the ask's own <see cref="AskTimeoutException"/> (the host's 504).
    /// </summary>
    internal static async Task<AccountCounts> CountAsync(IActorRef registry, int buckets, TimeSpan timeout) =>
        AccountPage.MergeCounts(await Task.WhenAll(Enumerable.Range(0, buckets)
            .Select(b => registry.AskBucketAsync<AccountCounts>(Buckets.ToBucket(b, CountBucket.Instance), timeout))).ConfigureAwait(false));

    private void OnAccountCounts(GetAccountCounts _) => CountAsync(_registry, BucketCount, InnerAsk).PipeTo(Sender);

    private void OnCounts(GetSupervisorCounts _) =>
        CountAsync(_registry, BucketCount, InnerAsk).PipeTo(Sender, success: counts => new SupervisorCounts(counts.Total, counts.Running, counts.Passivated));

    // ------------------------------------------------------------------ sessions

    private void OnLogin(Login login)
    {
        if (Invalid(login.Service, out var service)
            || Unusable(login.Identifier, "identifier")
            || Unusable(login.Password, "password")
            || login.AuthFactorToken is { Length: > 0 } && Unusable(login.AuthFactorToken, "authFactorToken"))
            return;
        var replyTo = Sender;
        if (!_journal.IsAvailable)
        {
            // The attempt could not be counted, nor the session kept.
            replyTo.Tell(new SessionRejected(SessionRejection.ServiceUnavailable, JournalUnavailable));
            return;
        }
        if (_limits.BlockedUntil(service, Now) is { } blocked)
        {
            // The server refuses everyone until its reset: no call, and no attempt counted against the budget.
            replyTo.Tell(new SessionRejected(SessionRejection.RateLimited,
                new XrpcError("RateLimitExceeded", $"{new Uri(service).Authority} refused this host's requests (429) until {blocked:u}"), blocked));
            return;
        }
        // Counted and journaled by the identifier's budget bucket (one owner in the cluster) before the call.
        var key = LoginBudget.Key(service, login.Identifier);
        _budgets.AskBucketAsync<object>(Buckets.To(key, BucketCount, new LoginBudgetBucket.SpendLogin(key, _settings.LoginBudget.For(service))), InnerAsk)
            .PipeTo(Self, success: answer => new BudgetAnswered(login, service, replyTo, answer), failure: e => new BudgetAnswered(login, service, replyTo, e));
    }

    private void OnBudgetAnswered(BudgetAnswered answered)
    {
        var (login, service, replyTo, answer) = answered;
        switch (answer)
        {
            case LoginBudgetBucket.LoginAllowed:
                _log.Info("Login of {Identifier} at {Service}", LoggedIdentifier(login.Identifier), service);
                // A 429 holds this identifier's logins at the server (the PDS counts them by identifier) until it says.
                _limits.SendAsync(service, "login " + LoginBudget.Key(service, login.Identifier), "com.atproto.server.createSession", CallKind.Session, _time,
                        () => _client.CreateSessionAsync(service, login.Identifier.Trim(), login.Password, login.AuthFactorToken))
                    .PipeTo(Self, success: result => new LoginAnswered(AccountRules.ClassifyLogin(result), service, SessionOrigin.Login, replyTo, login.Identifier.Trim()),
                        failure: e => new LoginAnswered(Unhandled(e), service, SessionOrigin.Login, replyTo, login.Identifier.Trim()));
                break;
            case LoginBudgetBucket.LoginBudgetSpent spent:
                _metrics.LoginFailed();
                _log.Warning("Login of {Identifier} at {Service} refused locally: its budget of {Budget} is spent until {RetryAt}", LoggedIdentifier(login.Identifier), service, spent.Spent, spent.RetryAt);
                replyTo.Tell(new SessionRejected(SessionRejection.RateLimited,
                    new XrpcError("RateLimitExceeded", $"the login budget of this identifier at {new Uri(service).Authority} ({spent.Spent}) is spent; retry after {spent.RetryAt:u}"),
                    spent.RetryAt));
                break;
            default:
                // The budget could not be counted (its journal did not answer): no call is made.
                replyTo.Tell(new SessionRejected(SessionRejection.ServiceUnavailable, JournalUnavailable));
                break;
        }
    }

    /// <summary>A handle as it is; an email address masked (a***@example.com), as the journal keeps only a hash of it.</summary>
    internal static string LoggedIdentifier(string identifier)
    {
        var trimmed = identifier.Trim();
        var at = trimmed.IndexOf('@');
        return at <= 0 ? trimmed : trimmed[0] + "***" + trimmed[at..];
    }

    private void OnCreateAccount(CreateAccount create)
    {
        if (Invalid(create.Service, out var service)
            || Unusable(create.Handle, "handle")
            || Unusable(create.Email, "email")
            || Unusable(create.Password, "password")
            || create.InviteCode is { Length: > 0 } && Unusable(create.InviteCode, "inviteCode"))
            return;
        var replyTo = Sender;
        _log.Info("Creating account {Handle} at {Service}", create.Handle, service);
        _limits.SendAsync(service, "", "com.atproto.server.createAccount", CallKind.Session, _time,
                () => _client.CreateAccountAsync(service, create.Handle.Trim(), create.Email.Trim(), create.Password, create.InviteCode))
            .PipeTo(Self, success: answer => new LoginAnswered(AccountRules.ClassifyLogin(answer), service, SessionOrigin.AccountCreated, replyTo, create.Handle.Trim()),
                failure: e => new LoginAnswered(Unhandled(e), service, SessionOrigin.AccountCreated, replyTo, create.Handle.Trim()));
    }

    /// <summary>A login or account creation whose call or answer failed inside the supervisor: refused, never left unanswered.</summary>
    private static LoginOutcome Unhandled(Exception e) => new LoginOutcome.Rejected(SessionRejection.ServiceUnavailable,
        new XrpcError(XrpcError.InvalidResponse, $"the server's answer could not be handled ({e.GetType().Name})"), null);

    private void OnImport(ImportSession import)
    {
        ImportedSession imported;
        try
        {
            imported = ImportedSession.Parse(import.Session, import.Service);
        }
        catch (SessionFormatException e)
        {
            Sender.Tell(new SessionRejected(SessionRejection.InvalidSession, new XrpcError("InvalidSession", e.Message)));
            return;
        }
        Adopt(new AdoptSession(imported.Grant, imported.Service, SessionOrigin.Import, import.Validate), Sender);
    }

    private void OnLoginAnswered(LoginAnswered answered)
    {
        switch (answered.Outcome)
        {
            case LoginOutcome.Succeeded ok when !AccountRules.AnswersIdentifier(answered.Identifier, ok.Grant):
                _metrics.LoginFailed();
                _log.Warning("Login at {Service} answered with the session of {Did} ({Handle}), another account than the one asked for: refused",
                    answered.Service, ok.Grant.Did, ok.Grant.Handle);
                answered.ReplyTo.Tell(new SessionRejected(SessionRejection.IdentityUnverified, new XrpcError("IdentityUnverified",
                    $"the server answered with the session of another account ({ok.Grant.Did}) than the one asked for")));
                break;
            case LoginOutcome.Succeeded ok:
                _metrics.LoginSucceeded();
                Adopt(new AdoptSession(ok.Grant, answered.Service, answered.Origin, Validate: false), answered.ReplyTo);
                break;
            case LoginOutcome.Rejected no:
                _metrics.LoginFailed();
                if (no.Reason == SessionRejection.AuthFactorTokenRequired && Resolve(answered.Identifier) is { } did)
                    Deliver(did, new AuthFactorRequested(answered.Service), Self);
                _log.Info("Login refused at {Service}: {Reason} ({Error}: {Message})", answered.Service, no.Reason, no.Error.Error, no.Error.Message);
                answered.ReplyTo.Tell(new SessionRejected(no.Reason, no.Error, no.RetryNotBefore));
                break;
        }
    }

    /// <summary>
    /// Verifies a new session's identity (see <see cref="Identity.SessionIdentity"/>) before any account takes it;
    /// without a resolver (specs of other things) it is adopted as it came.
    /// </summary>
    private void Adopt(AdoptSession adopt, IActorRef replyTo)
    {
        if (_identity is not { } resolver)
        {
            // Believed as it came; but the tokens never cross the network unencrypted on a server's word.
            if (adopt.Grant.PdsEndpoint is { } pds && !Identity.SessionIdentity.Encrypted(pds, adopt.Service))
                replyTo.Tell(new SessionRejected(SessionRejection.IdentityUnverified, new XrpcError("IdentityUnverified",
                    "the login answer names a PDS over plain http, away from this machine: the tokens would cross the network unencrypted")));
            else Adopted(adopt, replyTo);
            return;
        }
        var did = adopt.Grant.Did;
        var supervised = _handles.ContainsKey(did);
        var known = supervised && _running.TryGetValue(did, out var running) ? running.Status : null;
        var supervisedAt = known?.Pds;
        var registry = _registry;
        var client = _client;
        var handle = _handles.GetValueOrDefault(did);
        Task.Run(async () =>
            {
                if (supervisedAt is null && supervised)
                {
                    // Supervised, but it ran on another node: its bucket knows its PDS.
                    if (await registry.AskBucketAsync<object>(Buckets.To(did, BucketCount, new LookupAccount(did)), InnerAsk) is AccountStatus status)
                        (known, supervisedAt, handle) = (status, status.Pds, status.Handle);
                }
                // Only a session held pins the account to its PDS: without one, what it was supervised at may be an entryway
                // (no PDS of any document) or a PDS it has left, and its next session is wherever its document says.
                var holdsSession = known?.State.HoldsSession() == true;
                return await Identity.SessionIdentity.VerifyAsync(resolver, client, adopt.Grant, adopt.Service, holdsSession ? supervisedAt : null, handle, holdsSession,
                    imported: adopt.Origin == SessionOrigin.Import);
            })
            .PipeTo(Self, success: verdict => new IdentityChecked(adopt, replyTo, verdict),
                failure: e => new IdentityChecked(adopt, replyTo, new Identity.IdentityVerdict(null, SessionRejection.ServiceUnavailable,
                    new XrpcError("IdentityUnverified", $"the identity check could not finish ({e.GetType().Name})"))));
    }

    private void OnIdentityChecked(IdentityChecked checkedIdentity)
    {
        var (adopt, replyTo, verdict) = checkedIdentity;
        if (verdict.Grant is not { } grant)
        {
            _log.Warning("Session for {Did} from {Service} refused: {Reason}", adopt.Grant.Did, adopt.Service, verdict.Error!.Message);
            replyTo.Tell(new SessionRejected(verdict.Rejection!.Value, verdict.Error));
            return;
        }
        if (verdict.UnverifiedHandle is { } claimed)
            _log.Warning("Account {Did}: the handle {Handle} could not be verified; keeping {VerifiedHandle}", grant.Did, claimed, grant.Handle);
        var service = adopt.Origin == SessionOrigin.Import && grant.PdsEndpoint is { } pds
            ? ImportedSession.ServiceAfterVerification(adopt.Service, adopt.Grant.PdsEndpoint, pds)
            : adopt.Service;
        Adopted(adopt with { Grant = grant, Service = service, UnverifiedHandle = verdict.UnverifiedHandle }, replyTo);
    }

    private void Adopted(AdoptSession adopt, IActorRef replyTo)
    {
        var did = adopt.Grant.Did;
        if (_handles.ContainsKey(did))
        {
            Deliver(did, adopt, replyTo);
            return;
        }
        if (_registering.TryGetValue(did, out var waiting))
        {
            waiting.Add((adopt, replyTo));
            return;
        }
        if (!_journal.IsAvailable)
        {
            replyTo.Tell(new SessionRejected(SessionRejection.ServiceUnavailable, JournalUnavailable));
            return;
        }
        // The account starts once its registration is journaled (else it would not come back after a restart).
        _registering[did] = [(adopt, replyTo)];
        _registry.AskBucketAsync<AccountRegistration>(Buckets.To(did, BucketCount, new RegisterAccount(did, adopt.Grant.Handle)), InnerAsk)
            .PipeTo(Self, success: r => new Registered(adopt, replyTo, r.Registered), failure: _ => new Registered(adopt, replyTo, false));
    }

    private void OnRegistered(Registered registered)
    {
        var did = registered.Adopt.Grant.Did;
        if (!_registering.Remove(did, out var waiting)) return;
        if (!registered.Done)
        {
            foreach (var (_, to) in waiting) to.Tell(new SessionRejected(SessionRejection.ServiceUnavailable, JournalUnavailable));
            return;
        }
        Remember(did, registered.Adopt.Grant.Handle);
        foreach (var (session, to) in waiting) DeliverSession(did, session, to);
    }

    /// <summary>
    /// What a caller hears while the journal is down: the database's own error (its host, user, file) is the operator's,
    /// in /status and the log, and never goes to a login's caller or an account key's request.
    /// </summary>
    private static readonly XrpcError JournalUnavailable =
        new("JournalUnavailable", "the journal database does not answer; the supervisor's /status and log have its error");

    // ------------------------------------------------------------------ validation

    private bool Invalid(string? text, out string service)
    {
        if (ServiceUrl.TryNormalize(text, out service, out var problem)) return false;
        Sender.Tell(new SessionRejected(SessionRejection.InvalidRequest, new XrpcError("InvalidRequest", $"'service' {problem}")));
        return true;
    }

    /// <summary>
    /// Refuses a field that is missing, or longer than any session field (<see cref="SessionGrant.LongestField"/>): it is
    /// logged and sent to the server, and each new identifier has a login budget of its own.
    /// </summary>
    private bool Unusable(string? value, string name)
    {
        var problem = string.IsNullOrWhiteSpace(value) ? $"'{name}' is required"
            : value.Length > SessionGrant.LongestField ? $"'{name}' is longer than {SessionGrant.LongestField} characters"
            : null;
        if (problem is null) return false;
        Sender.Tell(new SessionRejected(SessionRejection.InvalidRequest, new XrpcError("InvalidRequest", problem)));
        return true;
    }
}
