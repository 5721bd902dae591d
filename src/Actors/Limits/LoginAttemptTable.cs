using Supervisor.Actors.Accounts;

namespace Supervisor.Actors.Limits;

/// <summary>
/// The recent login attempts of each budget key of one login budget bucket. A key's attempts older than the longest
/// window are dropped at its next attempt; a key tried once and never again is forgotten by a sweep, made once the
/// table has recorded as many attempts as it held keys after the last (and at least <see cref="SweepAtLeastEvery"/>): without it every
/// identifier ever tried stayed in memory for the life of the bucket (buckets do not passivate).
/// </summary>
public sealed class LoginAttemptTable(TimeSpan longest)
{
    /// <summary>The fewest attempts recorded between two sweeps.</summary>
    public const int SweepAtLeastEvery = 256;

    private readonly Dictionary<string, List<DateTimeOffset>> _byKey = new(StringComparer.Ordinal);
    private int _sinceSweep;
    private int _sweepAfter = SweepAtLeastEvery;

    /// <summary>How many keys the table holds.</summary>
    public int Keys => _byKey.Count;

    /// <summary>The attempts of <paramref name="key"/> still held, oldest first.</summary>
    public IReadOnlyList<DateTimeOffset> Of(string key) => _byKey.TryGetValue(key, out var attempts) ? attempts : [];

    /// <summary>Records an attempt of <paramref name="key"/> at <paramref name="at"/> (attempts come in the order they were made).</summary>
    public void Record(string key, DateTimeOffset at)
    {
        if (!_byKey.TryGetValue(key, out var attempts)) _byKey[key] = attempts = [];
        attempts.Add(at);
        var horizon = at - longest;
        attempts.RemoveAll(a => a <= horizon);
        if (attempts.Count == 0) _byKey.Remove(key);
        if (++_sinceSweep < _sweepAfter) return;
        foreach (var (old, _) in _byKey.Where(k => k.Value[^1] <= horizon).ToList()) _byKey.Remove(old);
        _sinceSweep = 0;
        _sweepAfter = Math.Max(SweepAtLeastEvery, _byKey.Count);
    }

    /// <summary>Each key's attempts inside the longest window at <paramref name="now"/> (what a snapshot keeps).</summary>
    public List<LoginAttempts> Recent(DateTimeOffset now) =>
        _byKey.Select(a => new LoginAttempts(a.Key, LoginBudget.Recent(a.Value, now, longest))).Where(a => a.At.Count > 0).ToList();
}
