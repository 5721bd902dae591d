using System.Collections.Concurrent;

namespace Supervisor.Host.Proxy;

/// <summary>
/// Answers looked up from a server for many requests: one lookup at a time for each key, which every request that needs
/// it meanwhile waits for (none of them ends it by giving up), and its answer kept for as long as the lookup says.
/// Thread-safe; at most <paramref name="maxKept"/> answers kept (past it, all are forgotten at once).
/// </summary>
public sealed class SharedLookups<TValue>(int maxKept)
{
    private sealed record Kept(TValue Value, DateTimeOffset Until);

    private readonly ConcurrentDictionary<string, Kept> _kept = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<TValue>>> _asking = new(StringComparer.Ordinal);

    /// <summary>
    /// The kept answer for <paramref name="key"/>, or the one <paramref name="lookup"/> gives (with how long to keep it:
    /// zero, not at all), shared with the requests asking at the same time.
    /// </summary>
    public async Task<TValue> GetAsync(string key, Func<Task<(TValue Value, TimeSpan KeepFor)>> lookup, CancellationToken ct)
    {
        if (_kept.TryGetValue(key, out var kept))
        {
            if (kept.Until > DateTimeOffset.UtcNow) return kept.Value;
            _kept.TryRemove(KeyValuePair.Create(key, kept));
        }
        Lazy<Task<TValue>>? mine = null;
        mine = new Lazy<Task<TValue>>(() => LookUpAsync(key, lookup, mine!));
        return await _asking.GetOrAdd(key, mine).Value.WaitAsync(ct);
    }

    private async Task<TValue> LookUpAsync(string key, Func<Task<(TValue Value, TimeSpan KeepFor)>> lookup, Lazy<Task<TValue>> entry)
    {
        try
        {
            var (value, keepFor) = await lookup();
            if (keepFor > TimeSpan.Zero)
            {
                if (_kept.Count >= maxKept) _kept.Clear();
                _kept[key] = new Kept(value, DateTimeOffset.UtcNow + keepFor);
            }
            return value;
        }
        finally
        {
            _asking.TryRemove(KeyValuePair.Create(key, entry));
        }
    }
}
