using Akka.Actor;
using Akka.Event;

namespace Supervisor.Actors.Journal;

/// <summary>
/// Keeps one persistent child running: a journal failure stops a persistent actor (as Akka does), and this parent
/// starts it again after 2 s, backing off to a minute while it keeps failing; messages to the parent go to the
/// current child (while none runs, callers get no answer and time out). Used for the account keys and the audit
/// trail, which must not take the host down with a journal outage.
/// </summary>
public sealed class RestartingChild : ReceiveActor, IWithTimers
{
    private sealed record Start
    {
        public static readonly Start Instance = new();
    }

    private readonly Props _props;
    private readonly string _name;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef? _child;
    private TimeSpan _delay = TimeSpan.FromSeconds(2);
    private int _incarnation;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Starts <paramref name="props"/> as a child named after <paramref name="name"/>.</summary>
    public RestartingChild(Props props, string name)
    {
        _props = props;
        _name = name;
        Receive<Start>(_ => StartChild());
        Receive<Terminated>(t => t.ActorRef.Equals(_child), _ =>
        {
            _child = null;
            _log.Warning("{Child} stopped (journal failure); starting it again in {Delay}", _name, _delay);
            Timers.StartSingleTimer("start", Start.Instance, _delay);
            _delay = TimeSpan.FromTicks(Math.Min(_delay.Ticks * 2, TimeSpan.FromMinutes(1).Ticks));
        });
        ReceiveAny(message => _child?.Forward(message));
        StartChild();
    }

    private void StartChild()
    {
        _child = Context.ActorOf(_props, $"{_name}-{++_incarnation}");
        Context.Watch(_child);
    }
}
