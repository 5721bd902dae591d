using Supervisor.Actors.Limits;

namespace Supervisor.Actors.Keys;

/// <summary>
/// The openings and rotations of each key's sessions within the <see cref="KeySessionLimits"/>' windows, counted by the
/// keys' owner from the events it journals and recovers, and kept in its snapshots (<see cref="KeySessionCalls"/>), so
/// that neither a restart nor a move of the owner starts the count again. The owner's alone (not thread-safe).
/// </summary>
public sealed class KeySessionBudget(KeySessionLimits limits)
{
    private readonly Dictionary<string, List<DateTimeOffset>> _opened = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<DateTimeOffset>> _rotated = new(StringComparer.Ordinal);

    /// <summary>Null when <paramref name="keyId"/> may open a session at <paramref name="now"/>; else when it may, and the window spent.</summary>
    public (DateTimeOffset At, BudgetWindow Spent)? OpenRefused(string keyId, DateTimeOffset now) => Refused(_opened, limits.Opens, keyId, now);

    /// <summary>Null when <paramref name="keyId"/> may rotate a session at <paramref name="now"/>; else when it may, and the window spent.</summary>
    public (DateTimeOffset At, BudgetWindow Spent)? RotationRefused(string keyId, DateTimeOffset now) => Refused(_rotated, limits.Rotations, keyId, now);

    /// <summary>Counts what <paramref name="e"/> did, <paramref name="before"/> being the state it applies to.</summary>
    public void Count(IKeyEvent e, AccountKeysState before)
    {
        switch (e)
        {
            case KeyEvents.KeySessionOpened opened:
                Add(_opened, limits.Opens, opened.KeyId, opened.At);
                break;
            case KeyEvents.KeySessionRotated rotated when before.Sessions.TryGetValue(rotated.Sid, out var session):
                Add(_rotated, limits.Rotations, session.KeyId, rotated.At);
                break;
            case KeyEvents.KeyRevoked revoked:
                _opened.Remove(revoked.Id);
                _rotated.Remove(revoked.Id);
                break;
        }
    }

    /// <summary>
    /// What a snapshot keeps: each key's openings and rotations still inside their windows at <paramref name="now"/>
    /// (what has left them is forgotten here too, so that a key no longer used holds nothing).
    /// </summary>
    public IReadOnlyList<KeySessionCalls> ToSnapshot(DateTimeOffset now)
    {
        Trim(_opened, limits.Opens, now);
        Trim(_rotated, limits.Rotations, now);
        return
        [
            .. _opened.Keys.Union(_rotated.Keys, StringComparer.Ordinal)
                .Select(id => new KeySessionCalls(id, _opened.GetValueOrDefault(id) ?? [], _rotated.GetValueOrDefault(id) ?? [])),
        ];
    }

    private static void Trim(Dictionary<string, List<DateTimeOffset>> times, IReadOnlyList<BudgetWindow> windows, DateTimeOffset now)
    {
        foreach (var id in times.Keys.ToList())
        {
            var recent = Recent(times, windows, id, now);
            if (recent.Count == 0) times.Remove(id);
            else times[id] = recent;
        }
    }

    /// <summary>Takes the counts a snapshot kept (none from a snapshot written before they were).</summary>
    public void Restore(IReadOnlyList<KeySessionCalls>? calls)
    {
        _opened.Clear();
        _rotated.Clear();
        foreach (var c in calls ?? [])
        {
            if (c.Opened.Count > 0) _opened[c.KeyId] = [.. c.Opened];
            if (c.Rotated.Count > 0) _rotated[c.KeyId] = [.. c.Rotated];
        }
    }

    private static (DateTimeOffset At, BudgetWindow Spent)? Refused(Dictionary<string, List<DateTimeOffset>> times, IReadOnlyList<BudgetWindow> windows, string keyId, DateTimeOffset now) =>
        LoginBudget.RetryAt(Recent(times, windows, keyId, now), now, windows);

    private static void Add(Dictionary<string, List<DateTimeOffset>> times, IReadOnlyList<BudgetWindow> windows, string keyId, DateTimeOffset at)
    {
        if (windows.Count == 0) return;
        var recent = Recent(times, windows, keyId, at);
        recent.Add(at);
        times[keyId] = recent;
    }

    private static List<DateTimeOffset> Recent(Dictionary<string, List<DateTimeOffset>> times, IReadOnlyList<BudgetWindow> windows, string keyId, DateTimeOffset now) =>
        times.TryGetValue(keyId, out var all) && windows.Count > 0 ? LoginBudget.Recent(all, now, windows.Max(w => w.Window)) : [];
}
