using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Audit;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Events;
using Supervisor.Actors.Identity;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Serialization;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tracing;
using static Supervisor.Actors.Account.AccountEvents;
using static Supervisor.Actors.Account.AccountSelfMessages;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Account;

/// <summary>
/// Owns one account's token pair. Every refresh and every request passes through its mailbox, so a
/// rotation never races: while a refresh is in flight (the <see cref="Refreshing"/> behaviour) requests
/// wait in the stash and leave with the new token. The rules live in <see cref="AccountRules"/>; this
/// actor journals, applies, calls the PDS and replies.
/// Requests that stream their bodies themselves (the HTTP pass-through) borrow the access token for one request
/// (<see cref="BorrowAccessToken"/>); calls by message are sent from here under the same kind of loan. A refresh
/// waits until every loan is back or expired, so no request leaves with a token the account has already replaced.
/// While the journal is unavailable it keeps serving with the tokens in memory: new events are applied at
/// once and held in order, then journaled when the journal is back (<see cref="JournalAvailabilityChanged"/>).
/// Should the process die meanwhile, the journal still holds the previous refresh token, which the PDS
/// accepts for 2 hours after its first use and answers with the same successor.
/// </summary>
public sealed class AccountSessionActor : UntypedPersistentActor, IWithTimers
{
    private const string DeleteTimer = "delete";
    private const string LoansTimer = "loans";
    private const string QuorumTimer = "quorum";

    private readonly AccountDependencies _deps;
    private readonly List<(IActorRef ReplyTo, SessionOrigin? Origin)> _refreshWaiters = new();
    private readonly List<IAccountEvent> _unjournaled = new();
    private List<IAccountEvent>? _journaling;

    private AccountState _state;
    private bool _refreshing;
    private bool _deleting;
    private int _refreshFailures;
    private int _deleteFailures;
    private DateTimeOffset? _retryAt;
    private XrpcError? _lastError;
    private DateTimeOffset? _lastActivity;
    private DateTimeOffset? _refreshAt;
    private Loans? _loans; // made for the first loan, dropped when the last is back
    private long _nextLoanId;
    private bool _refreshWaitsForLoans;
    private long _refusedGeneration = -1;
    private long _issuedAfterRefusal = -1;
    private int _freshTokensRefused;
    private DateTimeOffset? _refusalHeldUntil;
    private long _generation;
    private bool _draining;
    private bool _awaitingAuthFactor;
    private bool _deactivatedSeen;
    private long _compactTo;
    private DateTimeOffset _lastFailureLogged = DateTimeOffset.MinValue;
    private string? _unverifiedHandle;
    private string? _verifyingHandle;
    private bool _compacting;
    private DateTimeOffset? _stoppingSince;
    private bool _rested;
    /// <summary>This run has asked its shard to passivate it: later checks (its node's sweep) change nothing.</summary>
    private bool _passivationAsked;

    /// <summary>An access token lent for one request, until when, and under which session generation.</summary>
    private sealed record Loan(DateTimeOffset Until, long Generation, DateTimeOffset At);

    /// <summary>
    /// The loans out, by id, and the access token as the string they carry: made once for all the loans out at a time (a
    /// busy account lends for many requests at once), gone with the last of them, so that a resting pair stays UTF-8.
    /// </summary>
    private sealed class Loans : Dictionary<long, Loan>
    {
        private SessionTokens? _tokens;
        private string? _accessJwt;

        public string AccessJwtOf(SessionTokens tokens)
        {
            if (!ReferenceEquals(tokens, _tokens)) (_tokens, _accessJwt) = (tokens, tokens.AccessJwt);
            return _accessJwt!;
        }
    }

    /// <summary>The journal id of the account with <paramref name="did"/>.</summary>
    public static string PersistenceIdFor(string did) => "account-" + did;

    /// <summary>Props for the account <paramref name="did"/>.</summary>
    public static Props Props(string did, AccountDependencies deps) => new(AccountDeploy, typeof(AccountSessionActor), did, deps);

    /// <summary>One deployment (the account mailbox) for every account's props.</summary>
    private static readonly Deploy AccountDeploy = new Deploy().WithMailbox(AccountMailbox.Id);

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Creates the actor of the account <paramref name="did"/>.</summary>
    public AccountSessionActor(string did, AccountDependencies deps)
    {
        _deps = deps;
        _state = new AccountState(did);
        PersistenceId = PersistenceIdFor(did);

    }

    /// <inheritdoc />
    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case IAccountEvent e:
                _state = AccountRules.Apply(_state, e);
                break;
            case SnapshotOffer { Snapshot: AccountSnapshot snapshot }:
                _state = AccountRules.Restore(snapshot.State, Now);
                break;
            case RecoveryCompleted:
                if (Cluster.ClusterQuorum.Holds(Context.System)) OnRecovered();
                else AwaitingQuorum();
                break;
        }
    }

    /// <inheritdoc />
    protected override void OnCommand(object message) => NoSession(message);

    private DateTimeOffset Now => _deps.Time.GetUtcNow();

    private AccountSettings Settings => _deps.Settings;

    /// <summary>
    /// Recovered on a node that does not see a majority of the cluster (paused or cut off, about to be downed): the
    /// account neither claims, refreshes nor serves here until the node sees a majority again; it only answers its
    /// status. On the side that is downed it never will, and stops with the node.
    /// </summary>
    private void AwaitingQuorum()
    {
        Log.Warning("Account {Did}: this node does not see a majority of the cluster; the account waits before it serves here", _state.Did);
        Timers.StartPeriodicTimer(QuorumTimer, QuorumCheck.Instance, TimeSpan.FromMilliseconds(500));
        Become(WaitingForQuorum);
    }

    private void WaitingForQuorum(object message)
    {
        switch (message)
        {
            case QuorumCheck:
                if (!Cluster.ClusterQuorum.Holds(Context.System)) return;
                Timers.Cancel(QuorumTimer);
                Become(NoSession);
                OnRecovered();
                Stash.UnstashAll();
                break;
            case GetAccountStatus:
                Sender.Tell(Status());
                break;
            case StopAccount:
                Context.Stop(Self);
                break;
            default:
                Stash.Stash();
                break;
        }
    }

    private void OnRecovered()
    {
        var handover = _deps.Handovers.Take(_state.Did, LastSequenceNr, out var stale);
        if (stale) Log.Warning("Account {Did}: the events its previous run here could not journal are stale (the journal has moved on since); dropped", _state.Did);
        if (handover is not null) TakeOverHeldEvents(handover);
        // The fence: the first thing a new owner writes. A previous owner still running somewhere (a paused node) fails
        // its next write, which comes before any refresh it would make (RefreshStarted), or finds the claim past its own
        // writes when it asks the journal before a refresh or a deleteSession, so it never sends the token.
        if (_state.Owner != _deps.Node && (_state.Session is not null || _state.PendingDeletion is not null)) Self.Tell(ClaimOwnership.Instance);
        if (_state.PendingDeletion is not null) Self.Tell(DeleteDue.Instance);
        if (_state.Session is not null)
        {
            Become(Active);
            if (_state.RefreshPending)
            {
                Log.Info("Account {Did} stopped during a refresh; replaying the refresh", _state.Did);
                Self.Tell(RefreshDue.Replay);
            }
            else
            {
                ScheduleRefresh();
            }
        }
        if (handover is not null)
        {
            if (_deps.Journal.IsAvailable) JournalHeldEvents();
            // The refresh whose write failed is announced now (the events held before it were when they were applied).
            if (handover.Failed is not null) Publish(SessionEventKind.Refresh, null);
        }
        ReportStatus();
    }

    // ------------------------------------------------------------------ behaviours

    /// <summary>No session (never logged in, logged out, revoked, taken down): calls are answered at once.</summary>
    private void NoSession(object message)
    {
        switch (message)
        {
            case CallXrpc call:
                SupervisorTrace.Refused("account CallXrpc", call.TraceParent, _state.Did, call.Request.Nsid);
                Sender.Tell(Unavailable());
                break;
            case BorrowAccessToken borrow:
                SupervisorTrace.Refused("account BorrowAccessToken", borrow.TraceParent, _state.Did, borrow.Nsid);
                Sender.Tell(Unavailable());
                break;
            case ExportSession:
                Sender.Tell(Unavailable());
                break;
            case RefreshNow:
                Sender.Tell(new RefreshCompleted(Status()));
                break;
            case Logout logout:
                OnLogoutWithoutSession(logout);
                break;
            case RefreshDue or RefreshAnswered:
                break;
            case RetryCall retry:
                retry.ReplyTo.Tell(Unavailable());
                break;
            default:
                if (!OutsideRefresh(message) && !Common(message)) Unhandled(message);
                break;
        }
    }

    /// <summary>A session that serves calls.</summary>
    private void Active(object message)
    {
        switch (message)
        {
            case CallXrpc call:
                Dispatch(call, Sender);
                break;
            case BorrowAccessToken borrow:
                Lend(borrow);
                break;
            case RetryCall retry when _refusedGeneration == _generation:
                // The refresh for its refusal failed: the refused token is not sent again; the caller hears when it is retried.
                retry.ReplyTo.Tell(Unavailable());
                break;
            case RetryCall retry:
                Send(retry.Call, retry.ReplyTo, retried: true);
                break;
            case RefreshDue due:
                OnRefreshDue(due);
                break;
            case RefreshNow:
                _refreshWaiters.Add((Sender, null));
                StartRefresh("asked for");
                break;
            case ExportSession export:
                Export(export);
                break;
            case WakeToRefresh:
                OnWoken();
                break;
            case Logout logout:
                StartLogout(logout);
                break;
            default:
                if (!OutsideRefresh(message) && !Common(message)) Unhandled(message);
                break;
        }
    }

    /// <summary>A refresh is in flight: everything that would use a token waits in the stash.</summary>
    private void Refreshing(object message)
    {
        switch (message)
        {
            case RefreshAnswered answered:
                OnRefreshAnswered(answered);
                break;
            case OwnershipChecked checkedOwner:
                OnOwnershipChecked(checkedOwner);
                break;
            case RefreshNow:
                _refreshWaiters.Add((Sender, null));
                break;
            case RefreshDue:
                break;
            default:
                if (!Common(message)) Stash.Stash();
                break;
        }
    }

    /// <summary>What a behaviour with no refresh in flight answers the same way, with or without a session; false for others.</summary>
    private bool OutsideRefresh(object message)
    {
        switch (message)
        {
            case AdoptSession { Grant.Tokens.Problem: { } problem }:
                // Never a pair that does not validate (the supervisor parses every session it hands over): nothing is journaled.
                Sender.Tell(new SessionRejected(SessionRejection.InvalidSession, new XrpcError("InvalidSession", problem)));
                break;
            case AdoptSession adopt:
                Establish(adopt);
                break;
            case DrainAccount:
                Drain();
                break;
            default:
                return false;
        }
        return true;
    }

    /// <summary>
    /// What every behaviour answers the same way; false for a message it does not know (which the behaviour stashes or
    /// leaves unhandled). A switch rather than Receive handlers: a running account keeps no handler table of its own.
    /// </summary>
    private bool Common(object message)
    {
        switch (message)
        {
            case GetAccountStatus:
                Sender.Tell(Status());
                break;
            case RequestAnswered answered:
                OnRequestAnswered(answered);
                break;
            case HandleChecked handle:
                OnHandleChecked(handle);
                break;
            case CheckHandle:
                CheckOwnHandle();
                break;
            case ReturnAccessToken returned:
                OnLoanReturned(returned);
                break;
            case LoansDue:
                PruneLoans();
                break;
            case PassivationCheck:
                RequestPassivation();
                break;
            case StopAccount:
                StopWhenIdle();
                break;
            case ClaimOwnership:
                if (_state.Owner != _deps.Node) PersistAndApply(new OwnerClaimed(_deps.Node, Now), _ => { });
                break;
            case WakeToRefresh:
                break;
            case AuthFactorRequested requested when requested.Service is null
                                                    || Identity.SessionIdentity.SameServer(requested.Service, _state.Service ?? "")
                                                    || Identity.SessionIdentity.SameServer(requested.Service, _state.Pds ?? ""):
                _awaitingAuthFactor = true;
                ReportStatus();
                break;
            case AuthFactorRequested:
                break;
            case JournalAvailabilityChanged changed:
                if (changed.Available) JournalHeldEvents();
                break;
            case DeleteDue:
                SendDelete(null);
                break;
            case DeleteAnswered answered:
                OnDeleteAnswered(answered);
                break;
            case DeleteOwnershipChecked checkedOwner:
                OnDeleteOwnershipChecked(checkedOwner);
                break;
            case SaveSnapshotSuccess saved:
                _compactTo = Math.Max(_compactTo, saved.Metadata.SequenceNr);
                CompactJournal();
                DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
                break;
            case SaveSnapshotFailure failed:
                Log.Warning(failed.Cause, "Account {Did}: snapshot failed", _state.Did);
                break;
            case DeleteMessagesSuccess deleted:
                _compacting = false;
                if (_compactTo > deleted.ToSequenceNr) CompactJournal();
                break;
            case DeleteMessagesFailure failed:
                // Left for the next snapshot to try again.
                _compacting = false;
                Log.Warning(failed.Cause, "Account {Did}: deleting old journal entries failed", _state.Did);
                break;
            case DeleteSnapshotsSuccess or DeleteSnapshotsFailure:
                break;
            default:
                return false;
        }
        return true;
    }

    // ------------------------------------------------------------------ passivation

    /// <summary>
    /// Asked by its node's accounts supervisor every <see cref="AccountSettings.PassivateAfter"/> once it has run that
    /// long: stops if nothing needs it running (no request within <see cref="AccountSettings.ActiveWindow"/>, nothing in
    /// flight or held).
    /// </summary>
    private void RequestPassivation()
    {
        // Events held while the journal was down whose return this account did not hear (it started as the news went out).
        if (_unjournaled.Count > 0 && _journaling is null && _deps.Journal.IsAvailable) JournalHeldEvents();
        if (_passivationAsked || _stoppingSince is not null || Busy() || _state.PendingDeletion is not null || _retryAt is not null || _draining || _awaitingAuthFactor || IsActive()) return;
        _passivationAsked = true;
        Rest();
        // The shard holds what arrives for it until it has stopped.
        Context.Parent.Tell(new Passivate(StopAccount.Instance));
    }

    /// <summary>Tells the registry its status and when it is due again: the registry wakes it then.</summary>
    private void Rest()
    {
        _rested = true;
        var wakeAt = _state.Tokens is { } tokens
            ? _refreshAt ?? AccountRules.NextRefreshAt(tokens, Now, _lastActivity, Random.Shared.NextDouble(), Settings, PairReceivedAt)
            : (DateTimeOffset?)null;
        if (_retryAt is { } retry && (wakeAt is null || retry < wakeAt)) wakeAt = retry;
        _deps.Registry.Tell(Buckets.To(_state.Did, Settings.RegistryBuckets, new RegistryCommands.AccountResting(_state.Did, wakeAt, Status())));
    }

    /// <summary>True while something is in flight or held that a stop would lose.</summary>
    private bool Busy() =>
        _refreshing || LoanCount > 0 || _deleting || _unjournaled.Count > 0 || _journaling is not null || _compacting || _refreshWaiters.Count > 0
        || _verifyingHandle is not null;

    /// <summary>
    /// The shard's stop (after a passivation, or a hand-over to another node): what slipped in before the shard began
    /// to hold messages is served, a refresh or logout in flight finishes (at most request-timeout and a little more),
    /// then the account stops.
    /// </summary>
    private void StopWhenIdle()
    {
        _stoppingSince ??= Now;
        // Lent tokens do not hold a stop: nothing rotates them here any more, and a returned loan may wait in the shard
        // region while the shard moves. What is in flight in this actor (a refresh, a logout, held events) does.
        var inFlight = _refreshing || _deleting || _unjournaled.Count > 0 || _journaling is not null || _compacting || _refreshWaiters.Count > 0;
        if (inFlight && Now - _stoppingSince < Settings.RequestTimeout + TimeSpan.FromSeconds(5))
        {
            Timers.StartSingleTimer("stop", StopAccount.Instance, TimeSpan.FromMilliseconds(100));
            return;
        }
        // Handed over to another node (no passivation asked for): the registry wakes it there when it is due.
        if (!_rested) Rest();
        // Those waiting for a refresh that outlasted the stop's wait are told to ask again (the next run answers them),
        // as what waits in the stash is, from the dead letters.
        foreach (var (replyTo, _) in _refreshWaiters) replyTo.Tell(new AccountMoved(_state.Did));
        _refreshWaiters.Clear();
        Context.Stop(Self);
    }

    /// <summary>Woken by the registry: refreshes if its rules say the refresh is due.</summary>
    private void OnWoken()
    {
        // Not due yet (an early wake): its own timer, set when it recovered, keeps the time. Due is within the rules'
        // soonest (a second from now) and one second more, as it was when the floor itself was a second.
        if (_state.Tokens is { } tokens && AccountRules.NextRefreshAt(tokens, Now, _lastActivity, 0, Settings, PairReceivedAt) <= Now + TimeSpan.FromSeconds(2))
            StartRefresh("woken for its refresh");
    }

    // ------------------------------------------------------------------ sessions

    private void Establish(AdoptSession adopt)
    {
        var replyTo = Sender;
        PersistAndApply(new SessionEstablished(adopt.Origin, adopt.Service, adopt.Grant, Now), e =>
        {
            _unverifiedHandle = adopt.UnverifiedHandle;
            _generation++;
            (_freshTokensRefused, _refusalHeldUntil) = (0, null); // a new session starts without the old one's refusal backoff
            _deactivatedSeen = false;
            ClearFailures();
            _awaitingAuthFactor = false;
            Log.Info("Account {Did} ({Handle}) has a new session from {Origin} at {Service}", e.Grant.Did, e.Grant.Handle, e.Origin, e.Service);
            Publish(e.Origin == SessionOrigin.Import ? SessionEventKind.Import : SessionEventKind.Create, null);
            if (adopt.Validate)
            {
                _refreshWaiters.Add((replyTo, adopt.Origin));
                StartRefresh("resuming an imported session");
                return;
            }
            Become(Active);
            ScheduleRefresh();
            replyTo.Tell(new SessionStarted(Status(), adopt.Origin));
        });
    }

    private void Export(ExportSession export)
    {
        var grant = _state.Session!;
        var service = _state.Service!;
        _deps.Audit.Tell(new AuditEntry(Now, "SessionExported", _state.Did, export.By, export.Format.ToString()));
        Sender.Tell(new SessionExported(_state.Did, export.Format, export.Format == SessionFormat.Python
            ? SessionExport.ToSessionString(grant, service)
            : SessionExport.ToSessionData(grant, service)));
    }

    // ------------------------------------------------------------------ requests

    private void Dispatch(CallXrpc call, IActorRef replyTo)
    {
        if (TokenUsable(!AccountRules.AccessExpired(_state.Tokens!, Now, Settings) && _refusedGeneration != _generation, replyTo, "the access token has expired or was refused"))
            Send(call, replyTo, retried: false);
    }

    /// <summary>
    /// True when the current message may use the access token now; otherwise it is answered Unavailable (while a
    /// retry after a failure is pending, or the account drains) or waits in the stash for the refresh started here.
    /// </summary>
    private bool TokenUsable(bool usable, IActorRef replyTo, string why)
    {
        if (usable) return true;
        if (_draining || _retryAt is { } retryAt && retryAt > Now)
        {
            replyTo.Tell(Unavailable());
            return false;
        }
        Stash.Stash();
        StartRefresh(why);
        return false;
    }

    private void Send(CallXrpc call, IActorRef replyTo, bool retried)
    {
        var wasIdle = !IsActive();
        _lastActivity = Now;
        if (wasIdle) ScheduleRefresh();
        var loanId = OpenLoan();
        var generation = _generation;
        var sentAt = Now;
        var (pds, accessJwt) = (_state.Pds!, _state.Tokens!.AccessJwt);
        // The call's span, a child of the request's, is current while the PDS call starts: that call's HTTP span
        // (it runs on in this execution context) becomes its child. It ends when the answer is back here.
        var previous = Activity.Current;
        var span = SupervisorTrace.StartChild("account CallXrpc", call.TraceParent, _state.Did, call.Request.Nsid);
        span?.SetTag("supervisor.retried", retried);
        try
        {
            _deps.Limits.SendAsync(pds, _state.Did, call.Request.Nsid, CallKind.Request, _deps.Time, () => _deps.Client.SendAsync(pds, call.Request, accessJwt))
                .PipeTo(Self, success: answer => new RequestAnswered(call, replyTo, loanId, generation, retried, answer, sentAt, span));
        }
        finally
        {
            SupervisorTrace.Leave(span, previous, stop: false);
        }
    }

    private void OnRequestAnswered(RequestAnswered a)
    {
        SupervisorTrace.Stop(a.Span, a.Answer.IsSuccess ? "answered" : a.Answer.Error?.Error ?? $"status {a.Answer.Status}", failed: a.Answer.IsTransportFailure);
        CloseLoan(a.LoanId);
        _deps.Metrics.RequestAnswered(Now - a.SentAt);
        switch (AccountRules.ClassifyRequest(a.Answer))
        {
            case RequestOutcome.RefreshAndRetry when !a.Retried && _state.Session is not null:
                switch (RefreshForRefusal(a.Generation, "the PDS refused the access token"))
                {
                    case RefusalRefresh.HeldOff:
                        a.ReplyTo.Tell(a.Answer);
                        break;
                    case RefusalRefresh.AfterPendingRetry:
                        a.ReplyTo.Tell(Unavailable());
                        break;
                    default: // under way, or done since: the call goes again with the token it brings
                        Self.Tell(new RetryCall(a.Call, a.ReplyTo));
                        break;
                }
                break;
            case RequestOutcome.Deliver when a.Answer.Error?.Error == "AccountDeactivated" && !_deactivatedSeen:
                // The session still works (reads, refreshes); writes are refused until the account is activated.
                _deactivatedSeen = true;
                a.ReplyTo.Tell(a.Answer);
                ReportStatus();
                break;
            case RequestOutcome.DeliverAndConfirmByRefresh when _state.Session is not null:
                a.ReplyTo.Tell(a.Answer);
                RefreshForRefusal(a.Generation, "the PDS answered AccountTakedown", tokenRefused: false);
                break;
            default:
                a.ReplyTo.Tell(a.Answer);
                break;
        }
    }

    // ------------------------------------------------------------------ loans

    /// <summary>
    /// Lends the access token for one request, or refreshes first when it is expired (or, for a streamed body that
    /// cannot be sent twice, when less than a quarter of its lifetime, at most request-timeout, is left).
    /// </summary>
    private void Lend(BorrowAccessToken borrow)
    {
        // The loan's span, a child of the request's: a borrow that waits for a refresh shows twice, once waiting and once lent.
        var previous = Activity.Current;
        var span = SupervisorTrace.StartChild("account BorrowAccessToken", borrow.TraceParent, _state.Did, borrow.Nsid);
        try
        {
            var tokens = _state.Tokens!;
            // A streamed body is lent a token with time to spare, unless a refresh brought the pair within
            // min-refresh-interval: another now would bring one no better (a PDS handing out short-lived tokens would be
            // asked for refreshes, each a journal write, without end for one upload).
            var fresh = !AccountRules.AccessExpired(tokens, Now, Settings) && _refusedGeneration != _generation
                        && (!borrow.Streamed || tokens.AccessExpiresAt - Now >= AccountRules.StreamedValidity(tokens, Settings)
                            || _state.LastRefreshAt is { } refreshed && refreshed == PairReceivedAt && Now - refreshed < Settings.MinRefreshInterval);
            if (!TokenUsable(fresh, Sender, "the access token is about to expire"))
            {
                span?.SetTag("supervisor.outcome", _refreshing ? "waits for a refresh" : "unavailable");
                return;
            }
            var wasIdle = !IsActive();
            _lastActivity = Now;
            if (wasIdle) ScheduleRefresh();
            var loanId = OpenLoan();
            span?.SetTag("supervisor.outcome", "lent");
            Sender.Tell(new AccessTokenLent(_state.Did, loanId, _state.Pds!, _loans!.AccessJwtOf(tokens), _loans[loanId].Until, Self));
        }
        finally
        {
            SupervisorTrace.Leave(span, previous, stop: true);
        }
    }

    private long OpenLoan()
    {
        var id = ++_nextLoanId;
        var until = Now + Settings.RequestTimeout + TimeSpan.FromSeconds(5);
        (_loans ??= new Loans())[id] = new Loan(until, _generation, Now);
        // One timer for the loans: left running when they are all back (it finds none and ends), so that an account with one
        // request at a time does not start and cancel a timer for each.
        if (!Timers.IsTimerActive(LoansTimer)) Timers.StartSingleTimer(LoansTimer, LoansDue.Instance, until - Now);
        return id;
    }

    private int LoanCount => _loans?.Count ?? 0;

    /// <summary>Ends a loan; a refresh that waited for the loans goes once the last is back.</summary>
    private Loan? CloseLoan(long id)
    {
        if (_loans is null || !_loans.Remove(id, out var loan)) return null;
        if (_loans.Count == 0)
        {
            _loans = null;
            if (_refreshWaitsForLoans) SendRefresh();
        }
        return loan;
    }

    /// <summary>Loans past their time (a caller that never gave one back) end by themselves.</summary>
    private void PruneLoans()
    {
        if (_loans is null) return;
        foreach (var (id, _) in _loans.Where(l => l.Value.Until <= Now).ToList())
        {
            Log.Warning("Account {Did}: a lent access token was not given back in time", _state.Did);
            CloseLoan(id);
        }
        if (_loans is { Count: > 0 } left) Timers.StartSingleTimer(LoansTimer, LoansDue.Instance, left.Values.Min(l => l.Until) - Now);
    }

    private void OnLoanReturned(ReturnAccessToken returned)
    {
        if (CloseLoan(returned.LoanId) is not { } loan) return;
        if (returned.Status > 0) _deps.Metrics.RequestAnswered(Now - loan.At);
        switch (AccountRules.ClassifyRequest(returned.Status, returned.Error, returned.Message))
        {
            case RequestOutcome.RefreshAndRetry when _state.Session is not null:
                RefreshForRefusal(loan.Generation, "the PDS refused the access token");
                break;
            case RequestOutcome.Deliver when returned.Error == "AccountDeactivated" && !_deactivatedSeen:
                _deactivatedSeen = true;
                ReportStatus();
                break;
            case RequestOutcome.DeliverAndConfirmByRefresh when _state.Session is not null:
                RefreshForRefusal(loan.Generation, "the PDS answered AccountTakedown", tokenRefused: false);
                break;
        }
    }

    /// <summary>
    /// After the PDS refused the token of <paramref name="generation"/> (or, not <paramref name="tokenRefused"/>, said the
    /// account is taken down), unless a refresh is under way or has replaced it, or refreshes for refusals are held off:
    /// the token is lent no more and a refresh starts, whose answer decides. While a retry after a failure is pending, a
    /// refused token waits for it unlent (borrowers hear when); a takedown is left to that retry to confirm.
    /// </summary>
    private RefusalRefresh RefreshForRefusal(long generation, string reason, bool tokenRefused = true)
    {
        if (_refreshing || generation != _generation) return RefusalRefresh.UnderWay;
        var retryPending = _retryAt is { } retryAt && retryAt > Now;
        if (retryPending && !tokenRefused) return RefusalRefresh.AfterPendingRetry;
        if (HoldOffRefreshAfterRefusal()) return RefusalRefresh.HeldOff;
        _refusedGeneration = _generation;
        if (retryPending) return RefusalRefresh.AfterPendingRetry;
        StartRefresh(reason);
        return RefusalRefresh.UnderWay;
    }

    /// <summary>What <see cref="RefreshForRefusal"/> made of a refusal.</summary>
    private enum RefusalRefresh
    {
        /// <summary>A refresh is under way (started now or before), or has replaced the refused token already.</summary>
        UnderWay,

        /// <summary>Refreshes for refusals are held off: the refusal is answered as it came.</summary>
        HeldOff,

        /// <summary>A retry after a failure is pending: it makes the refresh.</summary>
        AfterPendingRetry,
    }

    /// <summary>
    /// Starts or continues a hold on refreshes for refusals, and says whether one holds now (the refusal is then to be
    /// answered as it came, without a refresh): the PDS (or a service it forwards to and passes the answers of) refused
    /// the token it issued in place of a refused one, so refreshing at once would go the same way, a refresh and a
    /// journal write for every request. Such a refresh waits a backoff (doubling while this goes on; a scheduled refresh
    /// or a new session ends it); meanwhile the token serves whatever it is still accepted for.
    /// </summary>
    private bool HoldOffRefreshAfterRefusal()
    {
        if (_generation != _issuedAfterRefusal) return false;
        if (_refusalHeldUntil is { } until)
        {
            if (until > Now) return true;
            _refusalHeldUntil = null;
            return false;
        }
        _freshTokensRefused++;
        _refusalHeldUntil = Now + AccountRules.Backoff(_freshTokensRefused, Random.Shared.NextDouble(), Settings);
        Log.Warning("Account {Did}: the access token issued in place of a refused one was refused too; refusals are answered as they come, without a refresh, until {HeldUntil}",
            _state.Did, _refusalHeldUntil);
        return true;
    }

    // ------------------------------------------------------------------ refresh

    private void OnRefreshDue(RefreshDue due)
    {
        // A wake that crossed the drain, or the wake of a time since replaced or cancelled, on its way (the node's clock is
        // not ordered with this mailbox): only the time set last counts.
        if (_draining || due.At is { } at && at != _refreshAt) return;
        StartRefresh(_retryAt is null ? "scheduled" : "retrying after a failure");
    }

    private void Drain()
    {
        _draining = true;
        _deps.Refreshes.Cancel(Self);
        // The host stops: the registry keeps its status and due time, and wakes it when due after the next start.
        if (!_refreshing) Rest();
        Sender.Tell(new AccountDrained(_state.Did));
    }

    private void StartRefresh(string why)
    {
        if (_draining)
        {
            FinishRefresh();
            return;
        }
        _refreshing = true;
        _refreshAt = null;
        _deps.Refreshes.Cancel(Self);
        Become(Refreshing);
        _deps.Metrics.Accounts.Report(_state.Did, StateName(), _unjournaled.Count);
        Log.Debug("Account {Did}: refreshing ({Reason})", _state.Did, why);
        if (LoanCount > 0)
        {
            // The lent token may still be on its way to the PDS: the rotation waits for it (at most until the loans expire).
            _refreshWaitsForLoans = true;
            return;
        }
        SendRefresh();
    }

    /// <summary>Journals the intent, then sends refreshSession with the current refresh token.</summary>
    private void SendRefresh()
    {
        _refreshWaitsForLoans = false;
        if (_state.Session is null)
        {
            FinishRefresh();
            return;
        }
        if (HoldsEvents && !Cluster.ClusterQuorum.Alone(Context.System))
        {
            // With other nodes, the journaled RefreshStarted is the fence against a second owner: no refresh leaves
            // before it is written. (A node alone keeps refreshing through a journal outage, its events held.)
            RefreshWaits("the journal is unavailable, and with other nodes a refresh leaves only once its start is journaled");
            return;
        }
        PersistAndApply(new RefreshStarted(Now), _ =>
        {
            if (Cluster.ClusterQuorum.Alone(Context.System)) SendRefreshCall();
            else CheckOwnership(highest => new OwnershipChecked(highest));
        });
    }

    /// <summary>Ends this refresh with its refresh token unused, to be tried again after a journal probe's interval, and says <paramref name="why"/>.</summary>
    private void RefreshWaits(string why)
    {
        _retryAt = Now + Settings.JournalProbeInterval;
        Log.Warning("Account {Did}: {Reason}; the refresh waits (retry at {RetryAt})", _state.Did, why, _retryAt);
        FinishRefresh();
    }

    private void SendRefreshCall()
    {
        var tokens = _state.Tokens!;
        var service = _state.Service!;
        var system = Context.System;
        // Asked again as the call leaves: a server's rate limit may hold it for minutes, long enough for the node to be
        // paused or cut off and another to own the account (then the refresh fails as transient and waits its retry).
        _deps.Limits.SendAsync(service, _state.Did, "com.atproto.server.refreshSession", CallKind.Session, _deps.Time,
                () => Cluster.ClusterQuorum.Holds(system)
                    ? _deps.Client.RefreshSessionAsync(service, tokens.RefreshJwt)
                    : Task.FromResult(XrpcResponse.Failed(XrpcError.NetworkError, "this node lost sight of the cluster's majority before the refresh left")))
            .PipeTo(Self, success: answer => new RefreshAnswered(answer));
    }

    /// <summary>
    /// With other nodes, asks the journal whether anything was written past this account's RefreshStarted. The write of a
    /// sequence number another owner took fails, but not one its compaction has deleted since (the journal keeps only the
    /// highest deleted row): a run paused past a new owner's 50 events writes its RefreshStarted into the deleted range, and
    /// only the journal's highest sequence number, which deletion keeps, says that the account has moved on without it.
    /// </summary>
    private void CheckOwnership(Func<long?, object> answer)
    {
        var journal = Persistence.Instance.Apply(Context.System).JournalFor(JournalPluginId);
        var persistenceId = PersistenceId;
        var written = LastSequenceNr;
        journal.Ask<object>(replyTo => new ReplayMessages(written + 1, written, 0, persistenceId, replyTo), Settings.JournalProbeTimeout, CancellationToken.None)
            .PipeTo(Self,
                success: reply => answer(reply is RecoverySuccess read ? read.HighestSequenceNr : null),
                failure: _ => answer(null));
    }

    private void OnOwnershipChecked(OwnershipChecked checkedOwner)
    {
        if (StoppedAsTakenOver(checkedOwner.Highest)) return;
        if (checkedOwner.Highest is null)
        {
            // Not known to be the owner: the refresh token stays unused until the journal answers (its RefreshStarted is
            // journaled, so a run after a stop replays the refresh as it would any cut off).
            RefreshWaits("the journal could not say whether another node owns this account now");
            return;
        }
        if (_state.Session is null) FinishRefresh(); // ended meanwhile
        else if (!Cluster.ClusterQuorum.Holds(Context.System))
        {
            // The node has lost sight of the majority since this run started (paused, cut off): another node may own the
            // account by now without having written yet. The token stays unused until the node sees the majority again.
            RefreshWaits("this node does not see a majority of the cluster");
        }
        else SendRefreshCall();
    }

    private void OnRefreshAnswered(RefreshAnswered answered)
    {
        if (_state.Session is null)
        {
            FinishRefresh();
            return;
        }
        switch (AccountRules.ClassifyRefresh(_state.Did, _state.Handle, answered.Answer, Now, Settings))
        {
            case RefreshOutcome.Refreshed r:
                if (r.Grant.PdsEndpoint is { } named && (_deps.Identity is not null || !SessionIdentity.Encrypted(named, _state.Service ?? "")))
                {
                    // The PDS is the one the DID document named when the session was verified, never what a refresh answer
                    // (from the login service: an entryway, or a stranger whose token passed) says: that would send the
                    // account's tokens and requests wherever the answer points. (Without verification, the answer is
                    // believed, but never for a PDS over plain http away from this machine.)
                    if (_state.Pds is { } verified && !SessionIdentity.SameServer(named, verified))
                        Log.Warning("Account {Did}: the refresh answer names another PDS ({NamedPds}); it keeps its own ({Pds})", _state.Did, named, verified);
                    r = new RefreshOutcome.Refreshed(r.Grant with { PdsEndpoint = null });
                }
                var claimed = r.Grant.Handle;
                if (_deps.Identity is { } resolver && _state.Handle is { } current && !string.Equals(claimed, current, StringComparison.OrdinalIgnoreCase))
                {
                    // A new handle from the PDS is taken only once verified both ways; the verified one stays meanwhile.
                    r = new RefreshOutcome.Refreshed(r.Grant with { Handle = current });
                    VerifyHandle(claimed, own: false);
                }
                PersistAndApply(new SessionRefreshed(r.Grant, Now), _ =>
                {
                    var afterRefusal = _refusedGeneration == _generation;
                    _generation++;
                    _issuedAfterRefusal = afterRefusal ? _generation : -1;
                    if (!afterRefusal) (_freshTokensRefused, _refusalHeldUntil) = (0, null);
                    _deactivatedSeen = false;
                    ClearFailures();
                    _deps.Metrics.Refreshed();
                    Log.Info("Account {Did} refreshed; access token valid until {AccessExpiresAt}", _state.Did, r.Grant.Tokens.AccessExpiresAt);
                    FinishRefresh();
                    Publish(SessionEventKind.Refresh, null); // after: the event carries the state the refresh left (Active)
                });
                break;
            case RefreshOutcome.Ended ended:
                _deps.Metrics.RefreshFailed();
                EndSession(ended.Reason, ended.Error);
                break;
            case RefreshOutcome.Transient t:
                _deps.Metrics.RefreshFailed();
                _refreshFailures++;
                _lastError = t.Error;
                var delay = AccountRules.Backoff(_refreshFailures, Random.Shared.NextDouble(), Settings);
                var retryAt = Now + delay;
                if (t.RetryNotBefore is { } notBefore && notBefore > retryAt) retryAt = notBefore;
                _retryAt = retryAt;
                Log.Warning("Account {Did}: refresh failed with {Error} ({Message}); retry at {RetryAt}", _state.Did, t.Error.Error, t.Error.Message, retryAt);
                Publish(SessionEventKind.UpdateFailure, t.Error);
                FinishRefresh();
                break;
        }
    }

    private void FinishRefresh()
    {
        _refreshing = false;
        if (_state.Session is null)
        {
            Become(NoSession);
        }
        else
        {
            Become(Active);
            ScheduleRefresh();
        }
        foreach (var (replyTo, origin) in _refreshWaiters)
        {
            object reply = origin is { } o
                ? _state.Session is null
                    ? new SessionRejected(SessionRejection.SessionRevoked, _lastError ?? new XrpcError("ExpiredToken", "the session is no longer valid"))
                    : new SessionStarted(Status(), o)
                : new RefreshCompleted(Status());
            replyTo.Tell(reply);
        }
        _refreshWaiters.Clear();
        Stash.UnstashAll();
        ReportStatus();
    }

    private void EndSession(SessionEndReason reason, XrpcError error)
    {
        PersistAndApply(new SessionEnded(reason, error, Now), _ =>
        {
            _lastError = error;
            _retryAt = null; // a refresh retry ends with the session (else it would hold the account running for good)
            _refreshFailures = 0;
            Log.Warning("Account {Did}: the session has ended ({Reason}: {Error} {Message})", _state.Did, reason, error.Error, error.Message);
            _deps.Refreshes.Cancel(Self);
            Publish(SessionEventKind.Deleted, error);
            if (_refreshing)
            {
                FinishRefresh();
            }
            else
            {
                Become(NoSession);
                ReportStatus();
            }
        });
    }

    /// <summary>When the supervisor received the current pair (its last refresh, or the login or import that brought it).</summary>
    private DateTimeOffset? PairReceivedAt =>
        _state.LastRefreshAt is { } refreshed && (_state.SessionStartedAt is not { } started || refreshed > started) ? refreshed : _state.SessionStartedAt;

    private void ScheduleRefresh()
    {
        if (_state.Tokens is not { } tokens || _draining) return;
        var due = _retryAt ?? AccountRules.NextRefreshAt(tokens, Now, _lastActivity, Random.Shared.NextDouble(), Settings, PairReceivedAt);
        _refreshAt = due;
        _deps.Refreshes.Set(Self, due);
    }

    /// <summary>
    /// Verifies <paramref name="handle"/> for this account, both ways, unless that check is under way; the answer comes as
    /// <see cref="HandleChecked"/>. Its <paramref name="own"/> handle is checked afresh (neither the handle's resolution
    /// nor the DID's document from the resolver's cache).
    /// </summary>
    private void VerifyHandle(string handle, bool own)
    {
        if (_deps.Identity is not { } resolver || _verifyingHandle == handle) return;
        _verifyingHandle = handle;
        if (own)
        {
            resolver.Forget(handle);
            resolver.Forget(_state.Did);
        }
        resolver.VerifyHandleAsync(_state.Did, handle).PipeTo(Self,
            success: v => new HandleChecked(handle, v.Verified, v.Reason, v.IsTransient, own, v.FailedCheck is Identity.HandleCheck.SameDid or Identity.HandleCheck.AlsoKnownAs),
            failure: e => new HandleChecked(handle, false, e.GetType().Name, Transient: true, Own: own));
    }

    /// <summary>
    /// Whether the account's own handle is still its own: asked when another account has verified the same handle since
    /// (the supervisor's directory found two claims), and when the PDS reports another one that does not verify. Without
    /// a handle of its own (or a resolver) it reports its status as it is, which settles a directory that thought otherwise.
    /// </summary>
    private void CheckOwnHandle()
    {
        if (_deps.Identity is not null && _state.Handle is { } own && own != Identity.SessionIdentity.InvalidHandle) VerifyHandle(own, own: true);
        else ReportStatus();
    }

    private void OnHandleChecked(HandleChecked handle)
    {
        if (_verifyingHandle == handle.Handle) _verifyingHandle = null;
        if (handle.Own)
        {
            OnOwnHandleChecked(handle);
            return;
        }
        if (!handle.Verified)
        {
            _unverifiedHandle = handle.Handle;
            Log.Warning("Account {Did}: its PDS reports the handle {Handle}, which could not be verified ({Reason}); keeping {VerifiedHandle}",
                _state.Did, handle.Handle, handle.Reason, _state.Handle);
            ReportStatus();
            CheckOwnHandle();
            return;
        }
        if (_state.Session is null) return;
        PersistAndApply(new HandleVerified(Identity.HandleSyntax.Normalize(handle.Handle), Now), e =>
        {
            _unverifiedHandle = null;
            Log.Info("Account {Did}: handle {Handle} verified", _state.Did, e.Handle);
            ReportStatus();
        });
    }

    /// <summary>
    /// Its own handle, checked again. One that resolves to another DID now, or that the DID's document no longer lists, is
    /// let go (the account goes as handle.invalid), so that neither the directory nor an export names this account by it;
    /// one that could not be checked (no answer, no record, a page instead of a DID) is kept. Either way the status is
    /// reported, which settles the directory.
    /// </summary>
    private void OnOwnHandleChecked(HandleChecked handle)
    {
        var stillOwn = string.Equals(handle.Handle, _state.Handle, StringComparison.OrdinalIgnoreCase);
        if (!stillOwn || handle.Verified || !handle.Elsewhere)
        {
            if (stillOwn && !handle.Verified)
                Log.Warning("Account {Did}: its handle {Handle} could not be checked again ({Reason}); keeping it", _state.Did, handle.Handle, handle.Reason);
            ReportStatus();
            return;
        }
        PersistAndApply(new HandleVerified(Identity.SessionIdentity.InvalidHandle, Now), _ =>
        {
            Log.Warning("Account {Did}: its handle {Handle} is no longer its own ({Reason}); it goes as {InvalidHandle} until its PDS reports one that verifies",
                _state.Did, handle.Handle, handle.Reason, Identity.SessionIdentity.InvalidHandle);
            ReportStatus();
        });
    }

    // ------------------------------------------------------------------ logout

    private void StartLogout(Logout logout)
    {
        var replyTo = Sender;
        PersistAndApply(new LogoutRequested(Now), _ =>
        {
            _deps.Refreshes.Cancel(Self);
            _retryAt = null;
            _refreshFailures = 0;
            Log.Info("Account {Did}: logging out", _state.Did);
            _deps.Audit.Tell(new AuditEntry(Now, "LoggedOut", _state.Did, logout.By));
            Become(NoSession);
            SendDelete(replyTo);
            ReportStatus();
        });
    }

    private void OnLogoutWithoutSession(Logout logout)
    {
        if (_state.PendingDeletion is null) Sender.Tell(new LoggedOut(_state.Did));
        else SendDelete(Sender);
    }

    private void SendDelete(IActorRef? replyTo, bool ownershipChecked = false)
    {
        if (_deleting)
        {
            // The deleteSession of an earlier logout is in flight; this one's session is revoked after it.
            replyTo?.Tell(new LogoutPending(_state.Did, _lastError ?? new XrpcError("LogoutInProgress", "deleteSession is in flight"), Now));
            return;
        }
        if (_state.PendingDeletion is not { } pending) return;
        if (!Cluster.ClusterQuorum.Holds(Context.System))
        {
            // As a refresh: on a node that has lost sight of the majority (paused, cut off) another node may run the
            // account with this refresh token by now.
            DeleteWaits(replyTo, "this node does not see a majority of the cluster");
            return;
        }
        _deleting = true;
        Timers.Cancel(DeleteTimer);
        var did = _state.Did;
        if (!ownershipChecked && !Cluster.ClusterQuorum.Alone(Context.System))
        {
            // As before a refresh: a run that another node has taken over since (its claim, or any later write, is past
            // this run's last) never sends the refresh token it holds.
            CheckOwnership(highest => new DeleteOwnershipChecked(highest, did, replyTo));
            return;
        }
        var service = _state.DeletionService!;
        _deps.Limits.SendAsync(service, did, "com.atproto.server.deleteSession", CallKind.Session, _deps.Time,
                () => _deps.Client.DeleteSessionAsync(service, pending.Value))
            .PipeTo(Self, success: answer => new DeleteAnswered(answer, did, replyTo));
    }

    private void OnDeleteOwnershipChecked(DeleteOwnershipChecked checkedOwner)
    {
        _deleting = false;
        if (StoppedAsTakenOver(checkedOwner.Highest)) checkedOwner.ReplyTo?.Tell(new AccountMoved(_state.Did));
        else if (checkedOwner.Highest is null) DeleteWaits(checkedOwner.ReplyTo, "the journal could not say whether another node owns this account now");
        else SendDelete(checkedOwner.ReplyTo, ownershipChecked: true);
    }

    /// <summary>
    /// Stops this run when the journal's <paramref name="highest"/> sequence number is past its own writes (another node
    /// owns the account now): true when it did. Its own writes since it asked (a handle verified, a deletion) are
    /// journaled by now, since a message waits while a write of its actor is in flight.
    /// </summary>
    private bool StoppedAsTakenOver(long? highest)
    {
        if (highest is not { } written || written <= LastSequenceNr) return false;
        StopAsMoved("another node owns it now: the journal holds writes past its own");
        Context.Stop(Self);
        return true;
    }

    /// <summary>Leaves the pending deleteSession unsent until a journal probe's interval has passed, and says <paramref name="why"/>.</summary>
    private void DeleteWaits(IActorRef? replyTo, string why)
    {
        var retryAt = Now + Settings.JournalProbeInterval;
        Timers.StartSingleTimer(DeleteTimer, DeleteDue.Instance, Settings.JournalProbeInterval);
        Log.Warning("Account {Did}: {Reason}; deleteSession waits (retry at {RetryAt})", _state.Did, why, retryAt);
        replyTo?.Tell(new LogoutPending(_state.Did, new XrpcError(XrpcError.NetworkError, why + "; deleteSession waits"), retryAt));
    }

    private void OnDeleteAnswered(DeleteAnswered answered)
    {
        _deleting = false;
        var answer = answered.Answer;
        var transient = answer.IsTransportFailure || answer.Status >= 500 || answer.Status == 429
                        || answer.Error?.Error == XrpcError.InvalidResponse && !answer.IsSuccess;
        if (transient && _deleteFailures + 1 >= AccountRules.DeleteElsewhereAttempts && _state.DeletionService is { } issuer
            && !SessionIdentity.SameServer(issuer, _state.Service ?? ""))
        {
            // A service the account has left (a PDS it moved from, shut down since) does not hold its later logouts up for
            // good: its token lapses by itself.
            Log.Warning("Account {Did}: deleteSession at {DeletionService}, no longer the account's service, failed {Attempts} times; given up",
                _state.Did, issuer, _deleteFailures + 1);
            transient = false;
        }
        if (!transient)
        {
            PersistAndApply(new SessionDeleted(Now), _ =>
            {
                _deleteFailures = 0;
                Log.Info("Account {Did}: logged out", _state.Did);
                Publish(SessionEventKind.Deleted, answer.IsSuccess ? null : answer.Error);
                if (_state.PendingDeletion is null) answered.ReplyTo?.Tell(new LoggedOut(_state.Did));
                else SendDelete(answered.ReplyTo); // a later logout's session, next
                ReportStatus();
            });
            return;
        }
        _deleteFailures++;
        _lastError = answer.Error;
        var retryAt = Now + AccountRules.Backoff(_deleteFailures, Random.Shared.NextDouble(), Settings);
        Timers.StartSingleTimer(DeleteTimer, DeleteDue.Instance, retryAt - Now);
        Log.Warning("Account {Did}: deleteSession failed with {Error} ({Message}); retry at {RetryAt}", _state.Did, answer.Error!.Error, answer.Error.Message, retryAt);
        Publish(SessionEventKind.DeleteFailure, answer.Error);
        answered.ReplyTo?.Tell(new LogoutPending(_state.Did, answer.Error, retryAt));
        ReportStatus();
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Whether a new event would be held rather than journaled now: the journal is down, or events wait before it.</summary>
    private bool HoldsEvents => !_deps.Journal.IsAvailable || _unjournaled.Count > 0;

    private void PersistAndApply<TEvent>(TEvent e, Action<TEvent> then) where TEvent : IAccountEvent
    {
        if (HoldsEvents)
        {
            // The journal is down (or still has held events before this one): apply now, journal later, in order.
            _unjournaled.Add(e);
            _state = AccountRules.Apply(_state, e);
            then(e);
            return;
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Persist(e, persisted =>
        {
            _deps.Metrics.JournalWritten(System.Diagnostics.Stopwatch.GetElapsedTime(started));
            _state = AccountRules.Apply(_state, persisted);
            if (Settings.SnapshotEvery > 0 && LastSequenceNr % Settings.SnapshotEvery == 0) SaveSnapshot(new AccountSnapshot(_state));
            then(persisted);
        });
    }

    /// <summary>
    /// Deletes the events covered by the latest snapshot, one deletion at a time (concurrent deletions of one
    /// persistence id deadlock on PostgreSQL).
    /// </summary>
    private void CompactJournal()
    {
        if (_compacting) return;
        _compacting = true;
        DeleteMessages(_compactTo);
    }

    /// <summary>
    /// Takes over the events an earlier run of this account applied but could not journal: applies them, in order, and
    /// holds them as its own until they are journaled (at once, or when the journal is back).
    /// </summary>
    private void TakeOverHeldEvents(HeldEventsHandover handover)
    {
        Log.Info("Account {Did}: taking over {EventCount} events its previous run could not journal", _state.Did, handover.Events.Count + (handover.Failed is null ? 0 : 1));
        foreach (var e in handover.Events.Concat(handover.Failed is { } failed ? [failed] : []))
        {
            _state = AccountRules.Apply(_state, e);
            _unjournaled.Add(e);
        }
    }

    /// <summary>Journals the events held while the journal was unavailable.</summary>
    private void JournalHeldEvents()
    {
        if (_unjournaled.Count == 0) return;
        var held = _unjournaled.ToList();
        _unjournaled.Clear();
        _journaling = held;
        var left = held.Count;
        PersistAll(held, _ =>
        {
            if (--left > 0) return;
            _journaling = null;
            Log.Info("Account {Did}: journaled {EventCount} events held while the journal was unavailable", _state.Did, held.Count);
            SaveSnapshot(new AccountSnapshot(_state));
            ReportStatus();
        });
    }

    /// <summary>
    /// A failure inside the handling of one message (a value from outside that no rule foresaw) answers that
    /// message and leaves the account as it was: no restart, so it can never become a restart loop that costs the
    /// host its CPU and its log. A refresh cut short this way counts as a failed refresh (retried with backoff).
    /// Logged at most once a minute per account. Failures while recovering still stop the actor (its parent starts
    /// it again with backoff).
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        // Started by a message from outside the cluster through the shard region, for a DID that never had a session here
        // (its journal is empty): no account of the supervisor's. It says so and stops, leaving no actor behind.
        if (LastSequenceNr == 0 && !IsRecovering && ClusterOutsiders.IsOutside(Sender, Context.System))
        {
            Sender.Tell(new AccountNotFound(_state.Did));
            Context.Stop(Self);
            return true;
        }
        // A call sent around the gateway (which refuses what mints credentials or ends the account to clients not trusted),
        // or without a sender (a system outside may send so; the supervisor's callers wait for the answer).
        if (message is ExportSession or BorrowAccessToken or ReturnAccessToken && ClusterOutsiders.IsOutside(Sender, Context.System)
            || message is CallXrpc && (Sender.IsNobody() || ClusterOutsiders.IsOutside(Sender, Context.System)))
        {
            // Sent to the account directly by a system outside the cluster (a holder of the certificate that is no member), or without a sender.
            Log.Warning("Account {Did}: refused {MessageType} from {Sender}, outside the cluster or without a sender", _state.Did, message.GetType().Name, Sender.Path.Address);
            Sender.Tell(new RefusedToClient(message.GetType().Name, new XrpcError("NotAllowedToClients",
                "tokens are served only inside the cluster; a client outside it goes through /user/clients (as a trusted client for tokens)")));
            return true;
        }
        // The account's own internal messages (a session to adopt, a code asked for, a wake-up, a handle to check, the
        // journal's state) come from the supervisor's actors, never from outside the cluster through the shard region.
        if (ClusterOutsiders.DropsForeign(Context, message, message is AdoptSession or AuthFactorRequested or WakeToRefresh or CheckHandle or JournalAvailabilityChanged))
            return true;
        // Who logged an account out is the client when it is not one of the supervisor's actors, whatever it says (the audit trail names it so).
        if (message is Logout { By: not "client" } logout && !ClusterOutsiders.IsSupervisorActor(Sender, Context.System))
            message = logout with { By = "client" };
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (Exception e) when (!IsRecovering)
        {
            OnHandlerFailure(message, e);
            return true;
        }
    }

    private void OnHandlerFailure(object message, Exception e)
    {
        if (Now - _lastFailureLogged >= TimeSpan.FromMinutes(1))
        {
            _lastFailureLogged = Now;
            Log.Error("Account {Did}: handling {MessageType} failed ({ExceptionType}: {Error}); the message is answered and the account goes on",
                _state.Did, message.GetType().Name, e.GetType().Name, e.Message);
        }
        var error = new XrpcError("InternalError", "the account could not handle this request; see the supervisor's log");
        AccountUnavailable Refusal()
        {
            try
            {
                return new AccountUnavailable(_state.Did, StateName(), error);
            }
            catch (Exception)
            {
                return new AccountUnavailable(_state.Did, AccountStateName.NeedsLogin, error);
            }
        }
        switch (message)
        {
            case RequestAnswered answered:
                CloseLoan(answered.LoanId);
                answered.ReplyTo.Tell(Refusal());
                break;
            case RefreshAnswered when _refreshing:
                _refreshFailures++;
                _lastError = error;
                _retryAt = Now + AccountRules.Backoff(_refreshFailures, Random.Shared.NextDouble(), Settings);
                FinishRefresh();
                break;
            case IAccountMessage or AdoptSession:
                Sender.Tell(Refusal());
                break;
        }
    }

    /// <inheritdoc />
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        if (reason.GetBaseException() is TokenKeyException wrongKey)
            _deps.Gateway.Tell(new TokenKeyRejected(_state.Did, wrongKey.Message));
        base.OnRecoveryFailure(reason, message);
    }

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // The actor is stopped after this; its parent starts it again once the journal answers (or a message starts it
        // sooner), and it recovers from what was journaled. Events applied in memory but never journaled (held during an
        // outage), and a refresh's new pair whose write failed here, are left for the next run on this node, which takes
        // them as it recovers: a pair the PDS rotated must not be lost to a replay of the token before it, which the PDS
        // honours only for its grace window (should the write have landed after all, the next run finds them stale).
        // Other events whose write failed are lost with their command, which was not answered.
        var held = (_journaling ?? []).Concat(_unjournaled).ToList();
        var handover = new HeldEventsHandover(_state.Did, held, @event is SessionRefreshed failed && !held.Contains(failed) ? failed : null);
        // One write is in flight at a time, and the failed one (a batch's first event) was not journaled: the journal holds
        // the account up to the event before it.
        if (held.Count > 0 || handover.Failed is not null) _deps.Handovers.Leave(handover, sequenceNr - 1, Now);
        _deps.Gateway.Tell(new HeldEventsHandover(_state.Did, [])); // its node's gateway routes nothing to it until it runs again
        if (OwnershipConflict(cause))
        {
            // The sequence number is taken: another node took the account over while this one could not see it (paused,
            // cut off), or another account's write was refused in the same batch (Akka.Persistence.Sql inserts several
            // accounts' events in one statement, refused whole). This run stops and never sends the refresh token it
            // holds. Its restart goes through sharding, to wherever the account runs; a run here takes what this one held
            // only if the journal has not moved on since. Those waiting for a refresh ask again.
            StopAsMoved("its write was refused as a sequence number already taken: another node may own it now");
            return;
        }
        _deps.Journal.MarkUnavailable(cause.GetBaseException().Message, Now);
        // Those waiting for a refresh (RefreshNow, a session's adoption) are answered now: the run that could have
        // answered them stops. The account runs again once the journal answers (its gateway restarts it after 2 s at least).
        var error = new XrpcError("JournalUnavailable", "the journal failed to write the account's changes; the account runs again when it is back");
        var retryAt = Now + TimeSpan.FromSeconds(2);
        foreach (var (replyTo, origin) in _refreshWaiters)
            replyTo.Tell(origin is null
                ? new AccountUnavailable(_state.Did, AccountStateName.Degraded, error, retryAt)
                : new SessionRejected(SessionRejection.ServiceUnavailable, error, retryAt));
        _refreshWaiters.Clear();
        Log.Error("Account {Did}: the journal failed to write {EventType} ({Error}); the account restarts when the journal is back",
            _state.Did, @event.GetType().Name, cause.GetBaseException().Message);
    }

    /// <summary>This run stops without using its tokens, since another node may have taken the account over (<paramref name="why"/>).</summary>
    private void StopAsMoved(string why)
    {
        Log.Warning("Account {Did}: {Reason}; stopping here without using its tokens", _state.Did, why);
        foreach (var (replyTo, _) in _refreshWaiters) replyTo.Tell(new AccountMoved(_state.Did));
        _refreshWaiters.Clear();
    }

    /// <inheritdoc />
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        Log.Error(cause, "Account {Did}: the journal rejected {EventType}; restarting the account", _state.Did, @event.GetType().Name);
        Context.Stop(Self);
    }

    private void ClearFailures()
    {
        _refreshFailures = 0;
        _retryAt = null;
        _lastError = null;
    }

    private bool IsActive() => _lastActivity is { } seen && Now - seen <= Settings.ActiveWindow;

    private void Publish(SessionEventKind kind, XrpcError? error)
    {
        var carriesSession = kind is SessionEventKind.Create or SessionEventKind.Refresh or SessionEventKind.Import;
        _deps.Events.Tell(new SessionEvent(kind, _state.Did, _state.Handle, _state.Service, StateName(), error, Now,
            carriesSession ? _state.Session : null));
        if (carriesSession || kind == SessionEventKind.UpdateFailure) ReportStatus();
    }

    private void ReportStatus()
    {
        // Its bucket takes a status reported after the rest as the account running again (or drops it as older than the
        // rest): the account rests again as it stops, with this status and the wake it leads to.
        _rested = false;
        var status = Status();
        _deps.Metrics.Accounts.Report(status.Did, status.State, status.UnjournaledEvents);
        _deps.Gateway.Tell(new AccountStatusChanged(status));
    }

    /// <summary>A write refused because the sequence number is taken: another owner wrote to this journal since this one read it.</summary>
    private static bool OwnershipConflict(Exception cause)
    {
        for (var e = cause; e is not null; e = e.InnerException)
            if (e.Message.Contains("UNIQUE constraint failed", StringComparison.OrdinalIgnoreCase)
                || e.Message.Contains("duplicate key value", StringComparison.OrdinalIgnoreCase)
                || e.GetType().GetProperty("SqlState")?.GetValue(e) as string == "23505")
                return true;
        return false;
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        _deps.Metrics.Accounts.Started(_state.Did);
        base.PreStart();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _deps.Refreshes.Cancel(Self);
        _deps.Metrics.Accounts.Stopped(_state.Did, _rested);
        base.PostStop();
    }

    private AccountUnavailable Unavailable()
    {
        var state = StateName();
        var error = _draining ? new XrpcError("ShuttingDown", "the supervisor is shutting down") : state switch
        {
            AccountStateName.Degraded => _lastError ?? new XrpcError("Degraded", "the last refresh failed"),
            AccountStateName.LoggingOut => new XrpcError("LoggingOut", "the account is logging out"),
            AccountStateName.LoggedOut => new XrpcError("LoggedOut", "the account has logged out"),
            AccountStateName.TakenDown => _state.Ended?.Error ?? new XrpcError("AccountTakedown", "the account is taken down"),
            _ => _state.Ended?.Error ?? new XrpcError("NeedsLogin", "the account has no session: log in again"),
        };
        return new AccountUnavailable(_state.Did, state, error, state == AccountStateName.Degraded ? _retryAt : null);
    }

    private AccountStateName StateName()
    {
        if (_state.Session is { } s)
        {
            if (_refreshing) return AccountStateName.Refreshing;
            if (_retryAt is not null) return AccountStateName.Degraded;
            if (s.Status == "takendown") return AccountStateName.TakenDown;
            if (!s.Active && s.Status == "deactivated" || _deactivatedSeen) return AccountStateName.Deactivated;
            return AccountStateName.Active;
        }
        if (_state.PendingDeletion is not null) return AccountStateName.LoggingOut;
        if (_awaitingAuthFactor) return AccountStateName.AwaitingAuthFactor;
        if (_state.Ended is { } ended) return ended.Reason == SessionEndReason.TakenDown ? AccountStateName.TakenDown : AccountStateName.NeedsLogin;
        return _state.LoggedOut ? AccountStateName.LoggedOut : AccountStateName.NeedsLogin;
    }

    private AccountStatus Status()
    {
        var tokens = _state.Tokens;
        return new AccountStatus(
            _state.Did,
            _state.Handle,
            _state.Service,
            _state.Pds,
            StateName(),
            tokens?.Scope,
            tokens?.AccessExpiresAt,
            tokens?.RefreshExpiresAt,
            _state.LastRefreshAt,
            _state.RefreshCount,
            _state.LoginCount,
            _lastError ?? _state.Ended?.Error,
            LoanCount + (_refreshing ? Math.Max(Stash.Count, 0) : 0),
            _unjournaled.Count,
            _unverifiedHandle,
            _deps.NodeAddress);
    }
}
