using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace Supervisor.Actors.Journal;

/// <summary>
/// Asks the journal plugin, every <c>interval</c>, for the highest sequence number of a probe id: the same
/// database round trip a recovery makes, through the same plugin. Each answer updates
/// <see cref="JournalHealth"/>; every change is told to the parent as <see cref="JournalAvailabilityChanged"/>.
/// An error counts at once; a question still unanswered after <c>timeout</c> counts as an outage (and is asked anew).
/// A late answer within it is a busy journal, not a down one (under a bulk import the plugin's queue delays it by
/// seconds), and no new question is asked while one waits.
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

    /// <summary>When the question now waiting for its answer was asked; null when none waits.</summary>
    private DateTimeOffset? _askedAt;

    /// <summary>Props for a probe that checks every <paramref name="interval"/>, a check unanswered after <paramref name="timeout"/> being an outage.</summary>
    public static Props Props(JournalHealth health, TimeSpan interval, TimeSpan timeout, TimeProvider time) =>
        Akka.Actor.Props.Create(() => new JournalProbe(health, interval, timeout, time));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Creates the probe.</summary>
    public JournalProbe(JournalHealth health, TimeSpan interval, TimeSpan timeout, TimeProvider time)
    {
        _health = health;
        _time = time;
        _interval = interval;
        Receive<Tick>(_ =>
        {
            var now = _time.GetUtcNow();
            if (_askedAt is { } askedAt)
            {
                if (now - askedAt < timeout) return;
                Failed($"the journal did not answer within {timeout.TotalSeconds:0.#} s");
            }
            _askedAt = now;
            _journal.Tell(new ReplayMessages(1, 0, 0, ProbeId, Self));
        });
        Receive<RecoverySuccess>(_ =>
        {
            _askedAt = null;
            if (_health.MarkAvailable(_time.GetUtcNow()))
            {
                _log.Info("The journal answers again");
                Context.Parent.Tell(new JournalAvailabilityChanged(true));
            }
        });
        Receive<ReplayMessagesFailure>(f =>
        {
            _askedAt = null;
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
