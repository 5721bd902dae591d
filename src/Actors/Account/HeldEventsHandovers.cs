using System.Collections.Concurrent;

namespace Supervisor.Actors.Account;

/// <summary>
/// What an account's run applied but could not journal (events held during an outage, and the new pair of a refresh
/// whose write failed), left by that run as the failed write stops it, for the account's next run on this node, which
/// takes it as it recovers, before any message reaches it: whatever starts that run (its parent after the backoff, or a
/// message the shard region delivers at once), it never replays the token the PDS has rotated away. Kept with how far the
/// journal held the account at the failure: a next run that recovers further (the write landed after all, or a run on
/// another node journaled since) finds it stale and drops it. Thread-safe, one per node.
/// </summary>
public sealed class HeldEventsHandovers
{
    /// <summary>
    /// How long what was left is kept for a run that does not come (the account runs on another node now): a day, far past
    /// the PDS's grace window for the token before a rotated pair, and past any restart backoff.
    /// </summary>
    public static readonly TimeSpan KeptFor = TimeSpan.FromDays(1);

    private readonly ConcurrentDictionary<string, (long JournaledTo, DateTimeOffset At, HeldEventsHandover Handover)> _left = new(StringComparer.Ordinal);

    /// <summary>How many accounts have left events here that no run has taken yet.</summary>
    public int Count => _left.Count;

    /// <summary>
    /// Leaves <paramref name="handover"/>, made at <paramref name="now"/> when the journal held the account's events up to
    /// <paramref name="journaledTo"/>; what others left more than <see cref="KeptFor"/> ago is dropped (it holds tokens).
    /// </summary>
    public void Leave(HeldEventsHandover handover, long journaledTo, DateTimeOffset now)
    {
        foreach (var (did, left) in _left)
            if (now - left.At > KeptFor) _left.TryRemove(did, out _);
        _left[handover.Did] = (journaledTo, now, handover);
    }

    /// <summary>
    /// Takes what was left for <paramref name="did"/>: the handover when the run recovered up to where the journal was at
    /// the failure; null when nothing was left, or when it is stale (<paramref name="stale"/>; dropped all the same).
    /// </summary>
    public HeldEventsHandover? Take(string did, long recoveredTo, out bool stale)
    {
        stale = false;
        if (!_left.TryRemove(did, out var left)) return null;
        if (left.JournaledTo == recoveredTo) return left.Handover;
        stale = true;
        return null;
    }
}
