using System.Collections.Concurrent;

namespace Supervisor.Actors.Identity;

/// <summary>
/// Successful resolutions kept for a time to live, at most <c>capacity</c> of them: when full, expired entries
/// go first, then those closest to expiry. Thread-safe. A zero time to live keeps nothing.
/// </summary>
internal sealed class IdentityCache<T>(TimeSpan ttl, int capacity, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (T Value, DateTimeOffset Expires)> _entries = new(StringComparer.Ordinal);
    private readonly object _pruning = new();

    /// <summary>How many entries are held (expired ones included until they are looked up or pruned).</summary>
    public int Count => _entries.Count;

    /// <summary>The entry for <paramref name="key"/> when there is one that has not expired.</summary>
    public bool TryGet(string key, out T value)
    {
        value = default!;
        if (!_entries.TryGetValue(key, out var entry)) return false;
        if (entry.Expires <= time.GetUtcNow())
        {
            _entries.TryRemove(KeyValuePair.Create(key, entry));
            return false;
        }
        value = entry.Value;
        return true;
    }

    /// <summary>Keeps <paramref name="value"/> for the time to live.</summary>
    public void Set(string key, T value)
    {
        if (ttl <= TimeSpan.Zero) return;
        if (_entries.Count >= capacity && !_entries.ContainsKey(key)) Prune();
        _entries[key] = (value, time.GetUtcNow() + ttl);
    }

    /// <summary>Drops the entry for <paramref name="key"/>.</summary>
    public void Remove(string key) => _entries.TryRemove(key, out _);

    private void Prune()
    {
        lock (_pruning)
        {
            if (_entries.Count < capacity) return;
            var now = time.GetUtcNow();
            foreach (var (key, entry) in _entries)
            {
                if (entry.Expires <= now) _entries.TryRemove(KeyValuePair.Create(key, entry));
            }
            // Still full: make room for a tenth of the capacity at once, so pruning stays rare.
            var excess = _entries.Count - (capacity - Math.Max(1, capacity / 10));
            if (excess <= 0) return;
            foreach (var (key, _) in _entries.OrderBy(e => e.Value.Expires).Take(excess).ToList()) _entries.TryRemove(key, out _);
        }
    }
}
