using Serilog;
using Supervisor.Actors.Events;

namespace Supervisor.Host.Events;

/// <summary>
/// The session events of all accounts, without tokens, numbered <c>&lt;boot epoch ms&gt;-&lt;seq&gt;</c> and kept
/// in a ring buffer of the newest <c>capacity</c>, followed by any number of readers (GET /events). Thread-safe.
/// </summary>
public sealed class SessionEventFeed
{
    private readonly object _gate = new();
    private readonly FeedEvent?[] _ring;
    private readonly int _backlog;
    private readonly FeedReaderLimits _limits;
    private readonly List<FeedSubscription> _subscribers = new();
    private long _seq;

    /// <summary>
    /// A feed keeping the newest <paramref name="capacity"/> events; a reader more than <paramref name="backlog"/> events
    /// behind is dropped; at most <paramref name="limits"/> readers with account keys follow it (every event is offered to each).
    /// </summary>
    public SessionEventFeed(int capacity = 10_000, int backlog = 1_000, DateTimeOffset? boot = null, FeedReaderLimits? limits = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(backlog, 1);
        _ring = new FeedEvent?[capacity];
        _backlog = backlog;
        _limits = limits ?? FeedReaderLimits.Default;
        Boot = (boot ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds();
    }

    /// <summary>When this feed started (Unix ms): the first part of every id, so ids of two boots never collide.</summary>
    public long Boot { get; }

    /// <summary>How many readers follow the feed now.</summary>
    public int ReaderCount
    {
        get
        {
            lock (_gate) return _subscribers.Count;
        }
    }

    /// <summary>Numbers <paramref name="e"/> (its tokens, if any, dropped), keeps it and hands it to every reader.</summary>
    public FeedEvent Publish(SessionEvent e)
    {
        e = e.WithoutTokens();
        List<FeedSubscription>? dropped = null;
        FeedEvent numbered;
        lock (_gate)
        {
            var seq = ++_seq;
            numbered = new FeedEvent($"{Boot}-{seq}", seq, e);
            _ring[seq % _ring.Length] = numbered;
            foreach (var subscriber in _subscribers)
                if (!subscriber.Offer(numbered)) (dropped ??= new()).Add(subscriber);
            if (dropped is not null) _subscribers.RemoveAll(dropped.Contains);
        }
        if (dropped is not null)
            Log.Warning("Session events: {ReaderCount} readers more than {Backlog} events behind were disconnected", dropped.Count, _backlog);
        return numbered;
    }

    /// <summary>
    /// Follows the feed from after <paramref name="lastEventId"/> (null: from now on), for one account
    /// (<paramref name="did"/>) or all. An id of another boot, unreadable, or older than the buffer replays the whole
    /// buffer with <see cref="FeedSubscription.MayHaveMissed"/> set. <paramref name="keyId"/> names the account key
    /// reading (null: the admin, never refused). Null, with <paramref name="refusal"/> saying why, when the feed has its
    /// most readers with keys, or the key its most.
    /// </summary>
    public FeedSubscription? TrySubscribe(string? lastEventId, string? did, string? keyId, out string? refusal)
    {
        lock (_gate)
        {
            refusal = RefusalOf(keyId);
            if (refusal is not null) return null;
            var subscription = new FeedSubscription(this, did, keyId, _backlog);
            var oldest = Math.Max(1, _seq - _ring.Length + 1);
            long after;
            if (lastEventId is null) after = _seq;
            else if (TryParse(lastEventId, out var seq) && seq >= oldest - 1 && seq <= _seq) after = seq;
            else
            {
                after = oldest - 1;
                subscription.MayHaveMissed = true;
            }
            var replay = new List<FeedEvent>();
            for (var s = after + 1; s <= _seq; s++)
                if (_ring[s % _ring.Length] is { } e && (did is null || e.Event.Did == did)) replay.Add(e);
            subscription.Replay = replay;
            _subscribers.Add(subscription);
            return subscription;
        }
    }

    /// <summary>Why one more reader with <paramref name="keyId"/> (null: the admin, never refused) is refused, or null. Under the gate.</summary>
    private string? RefusalOf(string? keyId)
    {
        if (keyId is null) return null;
        if (_subscribers.Count(r => r.KeyId is not null) >= _limits.KeyReaders)
            return $"the supervisor already streams events to {_limits.KeyReaders} readers with account keys (supervisor.events.max-key-readers)";
        if (_subscribers.Count(r => r.KeyId == keyId) >= _limits.ReadersPerKey)
            return $"this account key already has {_limits.ReadersPerKey} event streams open (supervisor.events.max-readers-per-key): close one first";
        return null;
    }

    internal void Unsubscribe(FeedSubscription subscription)
    {
        lock (_gate) _subscribers.Remove(subscription);
    }

    /// <summary>The sequence number of an id of this boot.</summary>
    private bool TryParse(string id, out long seq)
    {
        seq = 0;
        var dash = id.IndexOf('-');
        return dash > 0
            && long.TryParse(id.AsSpan(0, dash), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var boot)
            && boot == Boot
            && long.TryParse(id.AsSpan(dash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out seq);
    }
}
