using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace Supervisor.Actors.Journal;

/// <summary>
/// Asks the journal plugin, every <c>interval</c>, for the highest sequence number of a probe id: the same
/// database round trip a recovery makes, through the same plugin. Each answer updates
/// <see cref="JournalHealth"/>; every change is told to the parent as <see cref="JournalAvailabilityChanged"/>.
/// </summary>
public sealed class JournalProbe : ReceiveActor, IWithTimers
{
    /// <summary>The persistence id the probe reads (never written).</summary>
    public const string ProbeId = "journal-probe";

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private readonly JournalHealth _health;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _journal = Persistence.Instance.Apply(Context.System).JournalFor(null);
    private long _asked;
    private long _answered;

    /// <summary>Props for a probe that checks every <paramref name="interval"/>.</summary>
    public static Props Props(JournalHealth health, TimeSpan interval, TimeProvider time) =>
        Akka.Actor.Props.Create(() => new JournalProbe(health, interval, time));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Creates the probe.</summary>
    public JournalProbe(JournalHealth health, TimeSpan interval, TimeProvider time)
    {
        _health = health;
        _time = time;
        _interval = interval;
        Receive<Tick>(_ =>
        {
            // No answer to the previous question within a whole interval counts as a failure.
            if (_answered < _asked) Failed("the journal did not answer within " + interval.TotalSeconds + " s");
            _asked++;
            _journal.Tell(new ReplayMessages(1, 0, 0, ProbeId, Self));
        });
        Receive<RecoverySuccess>(_ =>
        {
            _answered = _asked;
            if (_health.MarkAvailable(_time.GetUtcNow()))
            {
                _log.Info("The journal answers again");
                Context.Parent.Tell(new JournalAvailabilityChanged(true));
            }
        });
        Receive<ReplayMessagesFailure>(f =>
        {
            _answered = _asked;
            Failed(f.Cause.GetBaseException().Message);
        });
    }

    /// <inheritdoc />
    protected override void PreStart() => Timers.StartPeriodicTimer("probe", Tick.Instance, TimeSpan.Zero, _interval);

    private void Failed(string error)
    {
        if (!_health.MarkUnavailable(error, _time.GetUtcNow())) return;
        _log.Warning("The journal is unavailable ({Error}); accounts keep serving and hold their events until it is back", error);
        Context.Parent.Tell(new JournalAvailabilityChanged(false));
    }
}
