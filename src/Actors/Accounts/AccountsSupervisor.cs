using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Supervisor.Actors.Account;
using Supervisor.Actors.Events;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Serialization;
using Supervisor.Actors.Session;
using static Supervisor.Actors.Accounts.RegistryEvents;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Accounts;

/// <summary>
/// The parent of every account actor. It journals which accounts exist (so that all of them come back
/// after a restart), performs logins and account creations (the password lives only in that call),
/// keeps the login budget of every identifier (journaled, so that it survives a restart),
/// routes messages addressed by DID or handle, keeps the latest status of each account for listings,
/// and restarts an account actor that stopped on a journal failure once the journal answers again. Its
/// <see cref="JournalProbe"/> child watches the journal; changes are passed on to every account. New
/// accounts are refused while the journal is unavailable (they could not be recovered after a restart).
/// </summary>
public sealed class AccountsSupervisor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>The registry's journal id.</summary>
    public const string RegistryPersistenceId = "account-registry";

    /// <summary>The name the host gives this actor.</summary>
    public const string Name = "accounts";

    private sealed record LoginAnswered(LoginOutcome Outcome, string Service, SessionOrigin Origin, IActorRef ReplyTo, string Identifier);

    private sealed record RestartAccount(string Did);

    private sealed record IdentityChecked(AdoptSession Adopt, IActorRef ReplyTo, Identity.IdentityVerdict Verdict);

    private sealed record WakeDue
    {
        public static readonly WakeDue Instance = new();
    }

    /// <summary>
    /// Sent at shutdown: every account finishes (and journals) its refresh in flight and starts no new one.
    /// Answered with <see cref="AccountsDrained"/>.
    /// </summary>
    public sealed record DrainAccounts(TimeSpan Timeout);

    /// <summary>How many accounts confirmed the drain.</summary>
    public sealed record AccountsDrained(int Count);

    private readonly AccountDependencies _deps;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, string?> _handles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _didsByHandle = new(StringComparer.OrdinalIgnoreCase);
    private readonly SortedDictionary<string, AccountStatus> _statuses = new(StringComparer.Ordinal); // by DID: listings are pages in DID order
    private readonly HashSet<string> _restarting = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (TimeSpan Delay, DateTimeOffset At)> _restartBackoff = new(StringComparer.Ordinal);
    private readonly Queue<string> _startQueue = new();
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _passivating = new(StringComparer.Ordinal);
    private readonly HashSet<string> _passivated = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, DateTimeOffset> _wakeQueue = new();
    private readonly Dictionary<string, DateTimeOffset> _wakeAt = new(StringComparer.Ordinal);
    private readonly HashSet<string> _starting = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<DateTimeOffset>> _loginAttempts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(AdoptSession Session, IActorRef ReplyTo)>> _registering = new(StringComparer.Ordinal);
    private readonly IActorRef _probe;
    private readonly Dictionary<long, (Action Recorded, Action Failed)> _recording = new();
    private readonly Dictionary<string, HeldEventsHandover> _handovers = new(StringComparer.Ordinal);
    private readonly int _snapshotEvery;
    private IActorRef? _journalWriter;
    private bool _writerReady;
    private long _recordId;
    private bool _stopping;
    private bool _startupLogged;

    /// <summary>Props for the supervisor; it creates its own event hub.</summary>
    public static Props Props(
        PdsClient client, AccountSettings settings, SupervisorMetrics? metrics = null, TimeProvider? time = null, JournalHealth? journal = null, ServerLimits? limits = null,
        IActorRef? audit = null, Identity.IdentityResolver? identity = null) =>
        Akka.Actor.Props.Create(() => new AccountsSupervisor(client, settings, metrics ?? new SupervisorMetrics(), time ?? TimeProvider.System,
            journal ?? new JournalHealth(), limits ?? new ServerLimits(settings.ServerLimits), audit ?? ActorRefs.Nobody, identity));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <summary>Creates the supervisor.</summary>
    public AccountsSupervisor(
        PdsClient client, AccountSettings settings, SupervisorMetrics metrics, TimeProvider time, JournalHealth journal, ServerLimits limits, IActorRef audit,
        Identity.IdentityResolver? identity)
    {
        var hub = Context.ActorOf(SessionEventHub.Props(), "session-events");
        _probe = Context.ActorOf(JournalProbe.Props(journal, settings.JournalProbeInterval, time), "journal-probe");
        _deps = new AccountDependencies(client, settings, hub, time, metrics, journal, limits, audit, identity);
        _snapshotEvery = Math.Max(settings.SnapshotEvery, 1) * 20;

        StartJournalWriter();
        Recovering();
    }

    // ------------------------------------------------------------------ behaviours

    /// <summary>Until the registry journal is read: its events are applied, everything else waits.</summary>
    private void Recovering()
    {
        Receive<AccountRegistered>(Register);
        Receive<AccountHandleChanged>(ChangeHandle);
        Receive<LoginAttempted>(RecordLoginAttempt);
        Receive<RegistrySnapshot>(snapshot =>
        {
            foreach (var entry in snapshot.Accounts) Register(new AccountRegistered(entry.Did, entry.Handle));
            foreach (var logins in snapshot.Logins ?? [])
                foreach (var at in logins.At) RecordLoginAttempt(new LoginAttempted(logins.Key, at));
        });
        Receive<RegistryJournal.RegistryRecovered>(_ =>
        {
            _writerReady = true;
            _log.Info("Account registry recovered: starting {AccountCount} accounts, {StartupBatch} at a time", _handles.Count, _deps.Settings.StartupBatch);
            foreach (var (did, handle) in _handles)
            {
                _statuses[did] = new AccountStatus(did, handle, null, null, AccountStateName.Recovering, null, null, null, null, 0, 0, null, 0);
                _deps.Metrics.Accounts.Recovering(did);
                _startQueue.Enqueue(did);
            }
            Become(Ready);
            Stash.UnstashAll();
            StartNextAccounts();
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_journalWriter), _ =>
        {
            _log.Warning("Account registry: the journal cannot be read; trying again in 2 s");
            _journalWriter = null;
            Timers.StartSingleTimer("journal-writer", StartWriter.Instance, TimeSpan.FromSeconds(2));
        });
        Receive<StartWriter>(_ => StartJournalWriter());
        Receive<JournalAvailabilityChanged>(_ => { });
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>The registry is read: accounts are served.</summary>
    private void Ready()
    {
        var hub = _deps.Events;
        // A journal writer started again after a failure reads the journal once more: nothing new in it.
        Receive<IJournaled>(_ => { });
        Receive<RegistrySnapshot>(_ => { });
        Receive<RegistryJournal.RegistryRecovered>(_ =>
        {
            _writerReady = true;
            Timers.Cancel("journal-writer");
            _log.Info("Account registry: writing to the journal again");
        });
        Receive<RegistryJournal.RegistryEventRecorded>(OnRecorded);
        Receive<StartWriter>(_ =>
        {
            if (_journalWriter is null) StartJournalWriter();
        });
        Receive<Login>(OnLogin);
        Receive<CreateAccount>(OnCreateAccount);
        Receive<ImportSession>(OnImport);
        Receive<LoginAnswered>(OnLoginAnswered);
        Receive<IdentityChecked>(OnIdentityChecked);
        Receive<ListAccounts>(query => Sender.Tell(AccountPage.Validate(query) is { } invalid ? new InvalidQuery(invalid) : AccountPage.Page(_statuses.Values, query)));
        Receive<GetAccountCounts>(_ => Sender.Tell(AccountPage.Count(_statuses.Values, _handles.Count - _passivated.Count, _passivated.Count)));
        Receive<AccountStatusChanged>(OnStatusChanged);
        Receive<SubscribeSessionEvents>(s => hub.Forward(s));
        Receive<UnsubscribeSessionEvents>(u => hub.Forward(u));
        Receive<Terminated>(OnChildStopped);
        Receive<RestartAccount>(OnRestartAccount);
        Receive<HeldEventsHandover>(handover =>
        {
            // Sent by an account that stops on a journal failure: nothing more goes to it from now on.
            _restarting.Add(handover.Did);
            if (handover.Events.Count > 0) _handovers[handover.Did] = handover;
        });
        Receive<PassivationRequested>(OnPassivationRequested);
        Receive<WakeDue>(_ => WakeDueAccounts());
        Receive<GetSupervisorCounts>(_ => Sender.Tell(new SupervisorCounts(_handles.Count, _handles.Count - _passivated.Count, _passivated.Count)));
        Receive<JournalAvailabilityChanged>(OnJournalAvailabilityChanged);
        Receive<DrainAccounts>(OnDrain);
        Receive<TokenKeyRejected>(OnTokenKeyRejected);
        Receive<IAccountMessage>(Route);
    }

    // ------------------------------------------------------------------ the registry journal

    private sealed record StartWriter
    {
        public static readonly StartWriter Instance = new();
    }

    private void StartJournalWriter()
    {
        _writerReady = false;
        _journalWriter = Context.ActorOf(RegistryJournal.Props(RegistryPersistenceId), "registry-journal-" + ++_recordId);
        Context.Watch(_journalWriter);
    }

    /// <summary>
    /// Journals a registry event; <paramref name="recorded"/> runs once it is written, <paramref name="failed"/>
    /// when it cannot be (the journal is down). Both run in this actor.
    /// </summary>
    private void Record(IJournaled e, Action recorded, Action failed)
    {
        if (_journalWriter is null || !_writerReady || !_deps.Journal.IsAvailable)
        {
            failed();
            return;
        }
        var id = ++_recordId;
        _recording[id] = (recorded, failed);
        _journalWriter.Tell(new RegistryJournal.RecordRegistryEvent(id, e));
    }

    private void OnRecorded(RegistryJournal.RegistryEventRecorded recorded)
    {
        if (!_recording.Remove(recorded.Id, out var then)) return;
        then.Recorded();
        if (recorded.SequenceNr % _snapshotEvery != 0) return;
        var now = _deps.Time.GetUtcNow();
        var logins = _loginAttempts
            .Select(l => new LoginAttempts(l.Key, LoginBudget.Recent(l.Value, now, _deps.Settings.LoginBudget.Longest)))
            .Where(l => l.At.Count > 0)
            .ToList();
        _journalWriter?.Tell(new RegistryJournal.SaveRegistrySnapshot(
            new RegistrySnapshot(_handles.Select(h => new RegistryEntry(h.Key, h.Value)).ToList(), logins)));
    }

    private void OnChildStopped(Terminated t)
    {
        if (!t.ActorRef.Equals(_journalWriter))
        {
            OnAccountStopped(t);
            return;
        }
        // A registry write failed: whoever waited for one is answered, the accounts go on.
        var wasWriting = _writerReady;
        _journalWriter = null;
        _writerReady = false;
        if (wasWriting)
        {
            _deps.Journal.MarkUnavailable("a registry write failed", _deps.Time.GetUtcNow());
            _log.Error("Account registry: a journal write failed; new accounts and logins are refused until the journal is back");
        }
        foreach (var (_, then) in _recording.ToList()) then.Failed();
        _recording.Clear();
        Timers.StartPeriodicTimer("journal-writer", StartWriter.Instance, TimeSpan.FromSeconds(2));
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _stopping = true;
        base.PostStop();
    }

    // ------------------------------------------------------------------ sessions

    private void OnLogin(Login login)
    {
        if (Invalid(login.Service, out var service)
            || Missing(login.Identifier, "identifier")
            || Missing(login.Password, "password"))
            return;
        var replyTo = Sender;
        if (!_deps.Journal.IsAvailable)
        {
            // The attempt could not be counted, nor the session kept.
            replyTo.Tell(new SessionRejected(SessionRejection.ServiceUnavailable, JournalUnavailableError()));
            return;
        }
        var key = LoginBudget.Key(service, login.Identifier);
        var now = _deps.Time.GetUtcNow();
        if (_deps.Limits.BlockedUntil(service, now) is { } blocked)
        {
            // The server refuses everyone until its reset: no call, and no attempt counted against the budget.
            replyTo.Tell(new SessionRejected(SessionRejection.RateLimited,
                new XrpcError("RateLimitExceeded", $"{new Uri(service).Authority} refused this host's requests (429) until {blocked:u}"), blocked));
            return;
        }
        if (LoginBudget.RetryAt(_loginAttempts.GetValueOrDefault(key) ?? [], now, _deps.Settings.LoginBudget.For(service)) is { } spent)
        {
            _deps.Metrics.LoginFailed();
            _log.Warning("Login of {Identifier} at {Service} refused locally: its budget of {Budget} is spent until {RetryAt}", LoggedIdentifier(login.Identifier), service, spent.Spent, spent.At);
            replyTo.Tell(new SessionRejected(SessionRejection.RateLimited,
                new XrpcError("RateLimitExceeded", $"the login budget of this identifier at {new Uri(service).Authority} ({spent.Spent}) is spent; retry after {spent.At:u}"),
                spent.At));
            return;
        }
        // Counted at once, so that concurrent logins of one identifier see each other; journaled before the call.
        var attempt = new LoginAttempted(key, now);
        RecordLoginAttempt(attempt);
        Record(attempt,
            recorded: () =>
            {
                _log.Info("Login of {Identifier} at {Service}", LoggedIdentifier(login.Identifier), service);
                _deps.Limits.SendAsync(service, "", "com.atproto.server.createSession", CallKind.Session, _deps.Time,
                        () => _deps.Client.CreateSessionAsync(service, login.Identifier.Trim(), login.Password, login.AuthFactorToken))
                    .PipeTo(Self, success: answer => new LoginAnswered(AccountRules.ClassifyLogin(answer), service, SessionOrigin.Login, replyTo, login.Identifier.Trim()));
            },
            failed: () =>
            {
                _loginAttempts[key].Remove(now); // not made: the journal could not count it
                replyTo.Tell(new SessionRejected(SessionRejection.ServiceUnavailable, JournalUnavailableError()));
            });
    }

    /// <summary>A handle as it is; an email address masked (a***@example.com), as the journal keeps only a hash of it.</summary>
    private static string LoggedIdentifier(string identifier)
    {
        var at = identifier.IndexOf('@');
        return at <= 0 ? identifier.Trim() : identifier.Trim()[0] + "***" + identifier.Trim()[at..];
    }

    private void RecordLoginAttempt(LoginAttempted attempted)
    {
        if (!_loginAttempts.TryGetValue(attempted.Key, out var attempts)) _loginAttempts[attempted.Key] = attempts = [];
        attempts.Add(attempted.At);
        // Only what a budget window can still see is kept.
        var horizon = attempted.At - _deps.Settings.LoginBudget.Longest;
        attempts.RemoveAll(a => a <= horizon);
    }

    private void OnCreateAccount(CreateAccount create)
    {
        if (Invalid(create.Service, out var service)
            || Missing(create.Handle, "handle")
            || Missing(create.Email, "email")
            || Missing(create.Password, "password"))
            return;
        var replyTo = Sender;
        _log.Info("Creating account {Handle} at {Service}", create.Handle, service);
        _deps.Limits.SendAsync(service, "", "com.atproto.server.createAccount", CallKind.Session, _deps.Time,
                () => _deps.Client.CreateAccountAsync(service, create.Handle.Trim(), create.Email.Trim(), create.Password, create.InviteCode))
            .PipeTo(Self, success: answer => new LoginAnswered(AccountRules.ClassifyLogin(answer), service, SessionOrigin.AccountCreated, replyTo, create.Handle.Trim()));
    }

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
            case LoginOutcome.Succeeded ok:
                _deps.Metrics.LoginSucceeded();
                Adopt(new AdoptSession(ok.Grant, answered.Service, answered.Origin, Validate: false), answered.ReplyTo);
                break;
            case LoginOutcome.Rejected no:
                _deps.Metrics.LoginFailed();
                if (no.Reason == SessionRejection.AuthFactorTokenRequired && Resolve(answered.Identifier) is { } did)
                    Deliver(did, AuthFactorRequested.Instance, Self);
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
        if (_deps.Identity is not { } resolver)
        {
            Adopted(adopt, replyTo);
            return;
        }
        var did = adopt.Grant.Did;
        var supervisedAt = _handles.ContainsKey(did) && _statuses.TryGetValue(did, out var known) ? known.Pds : null;
        Identity.SessionIdentity.VerifyAsync(resolver, _deps.Client, adopt.Grant, adopt.Service, supervisedAt, _handles.GetValueOrDefault(did))
            .PipeTo(Self, success: verdict => new IdentityChecked(adopt, replyTo, verdict));
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
        Adopted(adopt with { Grant = grant, UnverifiedHandle = verdict.UnverifiedHandle }, replyTo);
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
        // The account starts once its registration is journaled (else it would not come back after a restart).
        _registering[did] = [(adopt, replyTo)];
        var registered = new AccountRegistered(did, adopt.Grant.Handle);
        Record(registered,
            recorded: () =>
            {
                Register(registered);
                var account = StartAccount(did);
                foreach (var (session, to) in _registering[did]) account.Tell(session, to);
                _registering.Remove(did);
            },
            failed: () =>
            {
                foreach (var (_, to) in _registering[did]) to.Tell(new SessionRejected(SessionRejection.ServiceUnavailable, JournalUnavailableError()));
                _registering.Remove(did);
            });
    }

    private void OnDrain(DrainAccounts drain)
    {
        _stopping = true;
        var asks = AccountActors()
            .Select(c => c.Ask<AccountDrained>(DrainAccount.Instance, drain.Timeout).ContinueWith(t => t.IsCompletedSuccessfully ? 1 : 0, TaskScheduler.Default))
            .ToList();
        Task.WhenAll(asks).PipeTo(Sender, success: counts => new AccountsDrained(counts.Sum()));
    }

    // ------------------------------------------------------------------ routing

    private void Route(IAccountMessage message)
    {
        var did = Resolve(message.AccountId);
        if (did is null)
        {
            Sender.Tell(new AccountNotFound(message.AccountId));
            return;
        }
        Deliver(did, message, Sender);
    }

    /// <summary>
    /// Hands a message to an account, whatever it is doing: held while it passivates, answered from its last
    /// status or by starting it again while passivated, refused while it cannot be started (journal down,
    /// shutting down).
    /// </summary>
    private void Deliver(string did, object message, IActorRef sender)
    {
        if (_passivating.TryGetValue(did, out var held))
        {
            held.Add((message, sender));
            return;
        }
        var running = !Context.Child(ChildName(did)).IsNobody();
        if (!running && message is GetAccountStatus && _passivated.Contains(did) && _statuses.TryGetValue(did, out var kept))
        {
            // Nothing changes while an account is passivated: its last status is its status.
            sender.Tell(kept);
            return;
        }
        if (_restarting.Contains(did) || !running && !_deps.Journal.IsAvailable)
        {
            // It cannot read its journal now; it starts once the journal answers.
            Refuse(did, message, sender, AccountStateName.Degraded, JournalUnavailableError());
            return;
        }
        if (!running && _stopping)
        {
            Refuse(did, message, sender, AccountStateName.Degraded, new XrpcError("ShuttingDown", "the supervisor is shutting down"));
            return;
        }
        _passivated.Remove(did);
        StartAccount(did).Tell(message, sender);
    }

    private void Refuse(string did, object message, IActorRef sender, AccountStateName state, XrpcError error) =>
        sender.Tell(message is GetAccountStatus && _statuses.TryGetValue(did, out var last)
            ? last with { State = state, LastError = error }
            : new AccountUnavailable(did, state, error));

    private string? Resolve(string id)
    {
        var key = id.Trim().TrimStart('@');
        if (_handles.ContainsKey(key)) return key;
        return _didsByHandle.GetValueOrDefault(key);
    }

    private IActorRef StartAccount(string did)
    {
        var existing = Context.Child(ChildName(did));
        if (!existing.IsNobody()) return existing;
        var child = Context.ActorOf(AccountSessionActor.Props(did, _deps), ChildName(did));
        Context.Watch(child);
        return child;
    }

    private static string ChildName(string did) => Uri.EscapeDataString(did);

    /// <summary>The running account actors (every child but the event hub, the journal probe and the registry journal).</summary>
    private IEnumerable<IActorRef> AccountActors() =>
        Context.GetChildren().Where(c => !c.Equals(_deps.Events) && !c.Equals(_probe) && !c.Equals(_journalWriter));

    /// <summary>Starts queued accounts until <see cref="AccountSettings.StartupBatch"/> are reading their journal.</summary>
    private void StartNextAccounts()
    {
        while (_starting.Count < _deps.Settings.StartupBatch && _startQueue.TryDequeue(out var did))
        {
            if (!Context.Child(ChildName(did)).IsNobody() || _passivated.Contains(did) || _passivating.ContainsKey(did)) continue; // started on demand already
            StartAccount(did);
            _starting.Add(did);
        }
        if (_startQueue.Count == 0 && _starting.Count == 0 && _handles.Count > 0 && !_startupLogged)
        {
            _startupLogged = true;
            _log.Info("All {AccountCount} accounts have read their journal", _handles.Count);
        }
    }

    private void OnAccountStopped(Terminated t)
    {
        var did = Uri.UnescapeDataString(t.ActorRef.Path.Name);
        if (Context.Child(t.ActorRef.Path.Name) is var current && !current.IsNobody() && !current.Equals(t.ActorRef)) return; // an earlier incarnation
        if (_starting.Remove(did)) StartNextAccounts();
        if (_passivating.Remove(did, out var held))
        {
            if (held.Count == 0)
            {
                _passivated.Add(did);
                return;
            }
            // Messages arrived while it stopped: it starts again for them (if it can).
            foreach (var (message, sender) in held) Deliver(did, message, sender);
            return;
        }
        if (_stopping || !_handles.ContainsKey(did)) return;
        // Restarted after 2 s, then 4, 8... up to a minute while it keeps failing within 5 minutes of the last
        // failure (a journal that reads but refuses writes would otherwise have it recover over and over).
        var now = _deps.Time.GetUtcNow();
        var delay = _restartBackoff.TryGetValue(did, out var last) && now - last.At < TimeSpan.FromMinutes(5)
            ? TimeSpan.FromTicks(Math.Min(last.Delay.Ticks * 2, TimeSpan.FromMinutes(1).Ticks))
            : TimeSpan.FromSeconds(2);
        _restartBackoff[did] = (delay, now);
        _log.Warning("Account {Did} stopped unexpectedly; restarting it in {Delay} (once the journal answers)", did, delay);
        _restarting.Add(did);
        Timers.StartSingleTimer("restart-" + did, new RestartAccount(did), delay);
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

    private void OnPassivationRequested(PassivationRequested request)
    {
        if (_stopping || _passivating.ContainsKey(request.Did))
        {
            Sender.Tell(PassivationDenied.Instance);
            return;
        }
        if (_starting.Remove(request.Did)) StartNextAccounts();
        _statuses[request.Did] = request.Status;
        _passivating[request.Did] = [];
        if (request.WakeAt is { } wakeAt)
        {
            _wakeAt[request.Did] = wakeAt;
            _wakeQueue.Enqueue(request.Did, wakeAt);
            ArmWakeTimer();
        }
        Sender.Tell(Passivate.Instance);
    }

    /// <summary>Starts the passivated accounts whose refresh is due, and arms the timer for the next.</summary>
    private void WakeDueAccounts()
    {
        var now = _deps.Time.GetUtcNow();
        if (!_deps.Journal.IsAvailable || _stopping)
        {
            // Nothing can start now; the wakes wait (see OnJournalAvailabilityChanged).
            Timers.StartSingleTimer("wake", WakeDue.Instance, TimeSpan.FromSeconds(5));
            return;
        }
        while (_wakeQueue.TryPeek(out var did, out var at) && at <= now + TimeSpan.FromSeconds(1))
        {
            _wakeQueue.Dequeue();
            if (!_wakeAt.TryGetValue(did, out var wanted) || wanted != at) continue; // an older wake time
            _wakeAt.Remove(did);
            if (_passivating.TryGetValue(did, out var held))
            {
                held.Add((WakeToRefresh.Instance, Self)); // it starts again as soon as it has stopped
                continue;
            }
            if (!_passivated.Remove(did)) continue; // woken already by a message
            StartAccount(did).Tell(WakeToRefresh.Instance);
        }
        ArmWakeTimer();
    }

    private void ArmWakeTimer()
    {
        if (!_wakeQueue.TryPeek(out _, out var next)) return;
        var delay = next - _deps.Time.GetUtcNow();
        if (delay < TimeSpan.Zero) delay = TimeSpan.Zero;
        if (delay > TimeSpan.FromHours(1)) delay = TimeSpan.FromHours(1);
        Timers.StartSingleTimer("wake", WakeDue.Instance, delay);
    }

    private void OnRestartAccount(RestartAccount restart)
    {
        if (!_restarting.Contains(restart.Did)) return;
        if (!_deps.Journal.IsAvailable || !Context.Child(ChildName(restart.Did)).IsNobody())
        {
            Timers.StartSingleTimer("restart-" + restart.Did, restart, TimeSpan.FromSeconds(2));
            return;
        }
        _restarting.Remove(restart.Did);
        var account = StartAccount(restart.Did);
        if (_handovers.Remove(restart.Did, out var handover)) account.Tell(handover);
    }

    private void OnJournalAvailabilityChanged(JournalAvailabilityChanged changed)
    {
        foreach (var account in AccountActors()) account.Tell(changed);
        if (!changed.Available) return;
        if (_journalWriter is null) StartJournalWriter();
        Self.Tell(WakeDue.Instance);
    }

    private XrpcError JournalUnavailableError() =>
        new("JournalUnavailable", "the journal database does not answer: " + (_deps.Journal.Current.Error ?? "unknown error"));

    // ------------------------------------------------------------------ registry

    private void OnStatusChanged(AccountStatusChanged changed)
    {
        var status = changed.Status;
        _statuses[status.Did] = status;
        if (_starting.Remove(status.Did)) StartNextAccounts();
        if (status.Handle is { } handle && _handles.TryGetValue(status.Did, out var known) && known != handle)
        {
            var changedHandle = new AccountHandleChanged(status.Did, handle);
            Record(changedHandle, recorded: () =>
            {
                _log.Info("Account {Did} changed its handle to {Handle}", changedHandle.Did, changedHandle.Handle);
                ChangeHandle(changedHandle);
            }, failed: () => { }); // recorded with a later status report
        }
    }

    private void Register(AccountRegistered e)
    {
        _handles[e.Did] = e.Handle;
        if (e.Handle is not null and not Identity.SessionIdentity.InvalidHandle) _didsByHandle[e.Handle] = e.Did;
    }

    private void ChangeHandle(AccountHandleChanged e)
    {
        if (_handles.TryGetValue(e.Did, out var old) && old is not null && _didsByHandle.GetValueOrDefault(old) == e.Did)
            _didsByHandle.Remove(old);
        _handles[e.Did] = e.Handle;
        if (e.Handle != Identity.SessionIdentity.InvalidHandle) _didsByHandle[e.Handle] = e.Did;
    }

    // ------------------------------------------------------------------ validation

    private bool Invalid(string? text, out string service)
    {
        if (ServiceUrl.TryNormalize(text, out service, out var problem)) return false;
        Sender.Tell(new SessionRejected(SessionRejection.InvalidRequest, new XrpcError("InvalidRequest", $"'service' {problem}")));
        return true;
    }

    private bool Missing(string? value, string name)
    {
        if (!string.IsNullOrWhiteSpace(value)) return false;
        Sender.Tell(new SessionRejected(SessionRejection.InvalidRequest, new XrpcError("InvalidRequest", $"'{name}' is required")));
        return true;
    }
}
