using Akka.Actor;
using Akka.Event;
using Supervisor.Actors.Account;
using Supervisor.Actors.Events;

namespace Supervisor.Host.Events;

/// <summary>
/// Writes the session events of the accounts that run on this node (each event is written once in a cluster, by the
/// node of its account) to the <see cref="AccountHistory"/>, off the accounts' path: events wait in a buffer that is
/// written every <c>write-interval</c> (1 s), or as soon as <c>write-batch</c> (500) wait, all that wait in one
/// transaction, one write at a time (settings <c>supervisor.history</c>). While the database does not answer, the
/// buffer keeps the newest <c>buffer</c> (10,000: a few MB at most, an event being under 500 bytes) and drops
/// the oldest past that (counted in <c>supervisor.history.dropped</c>, logged once an outage); what it kept is written
/// once the database is back. The table is created by the first write that succeeds. <see cref="Flush"/> (sent at a
/// graceful stop) answers once what waited is written, or its write failed.
/// </summary>
public sealed class AccountHistoryWriter : ReceiveActor, IWithTimers
{
    private readonly AccountHistory _history;
    private readonly IActorRef _accounts;
    private readonly string? _node;
    private readonly SupervisorMetrics _metrics;
    private readonly TimeSpan _interval;
    private readonly int _batch;
    private readonly int _bound;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _flushing = new();
    private List<(string Did, HistoryEntry Entry)> _buffer = new();
    private bool _created;
    private bool _writing;
    private bool _failing;
    private long _dropped;

    /// <summary>Creates the writer; it subscribes at <paramref name="accounts"/> when it starts.</summary>
    public AccountHistoryWriter(AccountHistory history, IActorRef accounts, string? node, SupervisorMetrics metrics, TimeSpan interval, int batch, int bound)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bound, batch);
        (_history, _accounts, _node, _metrics, _interval, _batch, _bound) = (history, accounts, node, metrics, interval, batch, bound);
        Receive<SessionEvent>(e =>
        {
            _buffer.Add((e.Did, HistoryEntry.Of(e, _node)));
            if (_buffer.Count > _bound) Drop(_buffer.Count - _bound);
            if (_buffer.Count >= _batch) Write();
        });
        Receive<Tick>(_ => Write());
        Receive<Written>(w =>
        {
            _writing = false;
            _created = true;
            if (_failing)
            {
                _failing = false;
                _log.Info("Account history: the database answers again; {Dropped} session events were dropped meanwhile", _dropped);
                _dropped = 0;
            }
            if (_buffer.Count >= _batch || (_flushing.Count > 0 && _buffer.Count > 0)) Write();
            else Flushed();
        });
        Receive<WriteFailed>(f =>
        {
            _writing = false;
            _buffer.InsertRange(0, f.Events);
            if (_buffer.Count > _bound) Drop(_buffer.Count - _bound);
            Flushed();
            if (_failing) return;
            _failing = true;
            _log.Warning("Account history: the database does not take the session events ({Error}); the newest {Bound} are kept until it does, older ones dropped",
                f.Error.GetBaseException().Message, _bound);
        });
        Receive<Flush>(_ =>
        {
            _flushing.Add(Sender);
            Write();
            if (!_writing) Flushed();
        });
        Receive<SessionEventHub.SubscribeLocalSessionEvents>(_ => { });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Its events come from the node's hub: ones sent to it from outside the cluster would fill the history's table.</summary>
    protected override bool AroundReceive(Receive receive, object message) =>
        Supervisor.Actors.Cluster.ClusterOutsiders.DropsForeign(Context, message, message is SessionEvent) || base.AroundReceive(receive, message);

    /// <inheritdoc />
    protected override void PreStart()
    {
        _accounts.Tell(new SessionEventHub.SubscribeLocalSessionEvents(Self));
        Timers.StartPeriodicTimer("write", Tick.Instance, TimeSpan.Zero, _interval);
    }

    /// <summary>Props for the writer: a write every <paramref name="interval"/> or once <paramref name="batch"/> events wait, at most <paramref name="bound"/> waiting.</summary>
    public static Props Props(AccountHistory history, IActorRef accounts, string? node, SupervisorMetrics metrics, TimeSpan interval, int batch, int bound) =>
        Akka.Actor.Props.Create(() => new AccountHistoryWriter(history, accounts, node, metrics, interval, batch, bound));

    /// <summary>Props for the writer with the settings of <c>supervisor.history</c> in <paramref name="config"/>.</summary>
    public static Props Props(AccountHistory history, IActorRef accounts, string? node, SupervisorMetrics metrics, Akka.Configuration.Config config) =>
        Props(history, accounts, node, metrics, config.GetTimeSpan("supervisor.history.write-interval"),
            config.GetInt("supervisor.history.write-batch"), config.GetInt("supervisor.history.buffer"));

    /// <summary>Starts a write of what waits (the table first, until it exists), unless one is under way.</summary>
    private void Write()
    {
        if (_writing || (_created && _buffer.Count == 0)) return;
        _writing = true;
        // What waits leaves the buffer; a failed write puts it back in front.
        var events = _buffer;
        _buffer = new List<(string Did, HistoryEntry Entry)>();
        var (history, created) = (_history, _created);
        Task.Run(async () =>
        {
            if (!created) await history.CreateAsync();
            await history.AppendAsync(events);
        }).PipeTo(Self, success: () => Written.Instance, failure: e => new WriteFailed(events, e));
    }

    private void Flushed()
    {
        foreach (var asker in _flushing) asker.Tell(Flush.Instance);
        _flushing.Clear();
    }

    private void Drop(int count)
    {
        _buffer.RemoveRange(0, count);
        _dropped += count;
        _metrics.HistoryDropped(count);
    }

    /// <summary>Asks for what waits to be written now; answered with itself once written (or once the write failed).</summary>
    public sealed class Flush
    {
        /// <summary>The one instance.</summary>
        public static readonly Flush Instance = new();
    }

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed class Written
    {
        public static readonly Written Instance = new();
    }

    private sealed record WriteFailed(List<(string Did, HistoryEntry Entry)> Events, Exception Error);
}
