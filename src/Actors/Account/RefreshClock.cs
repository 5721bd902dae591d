using Akka.Actor;

namespace Supervisor.Actors.Account;

/// <summary>
/// The next refresh times of a node's running accounts, and one timer for them all: an account sets its time here
/// (<see cref="Set"/>) and is told <see cref="AccountSelfMessages.RefreshDue"/>, with that time, when it comes. An Akka
/// timer of its own cost every running account about 0.3 KB (the timer, its message, its cancellation, the scheduler's
/// registration); here it costs an entry in a table and one in a queue. A time set again replaces the account's earlier
/// one, which stays in the queue, forgets its account, and is skipped when it comes due (or dropped when the queue holds
/// more than twice as many times as accounts). A wake can still cross a <see cref="Cancel"/> or a newer time on its way
/// (they are not ordered with the account's mailbox), so the account acts on the wake of the time it set last only.
/// </summary>
public sealed class RefreshClock : IDisposable
{
    /// <summary>Old times tolerated in the queue beyond the accounts' count before it is rebuilt from the current ones.</summary>
    private const int Slack = 64;

    /// <summary>The longest the timer is set for; it is set again when it fires with nothing due.</summary>
    private static readonly TimeSpan LongestWait = TimeSpan.FromDays(1);

    private readonly object _gate = new();
    private readonly Dictionary<IActorRef, Wake> _due = new();
    private readonly PriorityQueue<Wake, DateTimeOffset> _queue = new();
    private readonly TimeProvider _time;
    private readonly ITimer _timer;

    /// <summary>The time the timer is set for; null when it is not set.</summary>
    private DateTimeOffset? _armedFor;

    private bool _disposed;

    /// <summary>
    /// One time set. A replaced or cancelled one forgets its account, so that a stopped account's actor is not held by the
    /// old times left in the queue.
    /// </summary>
    private sealed class Wake(IActorRef account)
    {
        public IActorRef? Account = account;
    }

    /// <summary>A clock on <paramref name="time"/>'s timers.</summary>
    public RefreshClock(TimeProvider time)
    {
        _time = time;
        // The timer's callbacks run in no caller's context (an activity or async-local of whoever made the clock).
        using (ExecutionContext.SuppressFlow())
            _timer = time.CreateTimer(_ => Fire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Stops the timer: no account is woken from then on.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _timer.Dispose();
        }
    }

    /// <summary>How many accounts have a time set.</summary>
    public int Count
    {
        get
        {
            lock (_gate) return _due.Count;
        }
    }

    /// <summary>The times queued, old ones included (for specs).</summary>
    public int Queued
    {
        get
        {
            lock (_gate) return _queue.Count;
        }
    }

    /// <summary>Wakes <paramref name="account"/> at <paramref name="at"/> (at once when it has passed), in place of any earlier time it set.</summary>
    public void Set(IActorRef account, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (_due.TryGetValue(account, out var earlier)) earlier.Account = null;
            var wake = new Wake(account);
            _due[account] = wake;
            _queue.Enqueue(wake, at);
            if (_queue.Count > 2 * _due.Count + Slack) Rebuild();
            Arm();
        }
    }

    /// <summary>Takes <paramref name="account"/>'s time out: it is not woken (unless its wake is already on its way).</summary>
    public void Cancel(IActorRef account)
    {
        lock (_gate)
        {
            if (!_due.Remove(account, out var wake)) return;
            wake.Account = null;
            if (_queue.Count > 2 * _due.Count + Slack) Rebuild();
        }
    }

    private void Fire()
    {
        List<(IActorRef Account, DateTimeOffset At)>? due = null;
        lock (_gate)
        {
            _armedFor = null;
            try
            {
                var now = _time.GetUtcNow();
                while (_queue.TryPeek(out var wake, out var at) && at <= now)
                {
                    _queue.Dequeue();
                    // An old time of an account that has set another, or cancelled, is skipped.
                    if (wake.Account is not { } account) continue;
                    _due.Remove(account);
                    (due ??= []).Add((account, at));
                }
            }
            finally
            {
                Arm();
            }
        }
        if (due is null) return;
        foreach (var (account, at) in due) account.Tell(new AccountSelfMessages.RefreshDue(at), ActorRefs.NoSender);
    }

    /// <summary>Sets the timer for the soonest time queued, unless it is set for that or sooner already.</summary>
    private void Arm()
    {
        if (_disposed || !_queue.TryPeek(out _, out var next) || _armedFor is { } armed && armed <= next) return;
        _armedFor = next;
        var wait = next - _time.GetUtcNow();
        // Whole milliseconds, rounded up: a timer that fired a fraction early would find nothing due and spin.
        wait = wait <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds));
        _timer.Change(wait > LongestWait ? LongestWait : wait, Timeout.InfiniteTimeSpan);
    }

    private void Rebuild()
    {
        var live = _queue.UnorderedItems.Where(item => item.Element.Account is not null).ToList();
        _queue.Clear();
        _queue.EnqueueRange(live); // into an empty queue: one pass, not one sift a time
        _queue.TrimExcess();
        _armedFor = null;
        Arm();
    }
}
