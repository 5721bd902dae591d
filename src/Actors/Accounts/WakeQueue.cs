namespace Supervisor.Actors.Accounts;

/// <summary>
/// The wake times of a registry bucket's accounts, soonest first. An account's newer time does not take its older one out
/// (a heap cannot remove from its middle): the older stays queued, and is skipped when it comes due, since only the
/// account's current time counts. Each rest names a time weeks ahead (the account's keep-alive), so an account that
/// rests again and again would leave a trail of old times behind it for weeks; the queue is rebuilt from the current
/// times instead once it holds more than twice as many as there are accounts.
/// </summary>
public sealed class WakeQueue
{
    /// <summary>Old times tolerated beyond the accounts' count, so that a small bucket is not rebuilt at every rest.</summary>
    public const int Slack = 64;

    private readonly PriorityQueue<string, DateTimeOffset> _queue = new();

    /// <summary>The times queued, old ones included.</summary>
    public int Count => _queue.Count;

    /// <summary>
    /// Queues the wake of <paramref name="did"/> at <paramref name="at"/>, its current time. When the queue then holds more
    /// than twice <paramref name="accounts"/> (and <see cref="Slack"/>), it is rebuilt from <paramref name="current"/>:
    /// every account's current time, this one's included.
    /// </summary>
    public void Add(string did, DateTimeOffset at, int accounts, Func<IEnumerable<(string Did, DateTimeOffset At)>> current)
    {
        _queue.Enqueue(did, at);
        if (_queue.Count <= 2 * accounts + Slack) return;
        _queue.Clear();
        foreach (var (account, time) in current()) _queue.Enqueue(account, time);
        _queue.TrimExcess();
    }

    /// <summary>The soonest time queued and its account, or false when none is.</summary>
    public bool TryPeek(out string did, out DateTimeOffset at)
    {
        if (_queue.TryPeek(out var next, out at))
        {
            did = next;
            return true;
        }
        did = "";
        return false;
    }

    /// <summary>Takes the soonest time out.</summary>
    public void Dequeue() => _queue.Dequeue();
}
