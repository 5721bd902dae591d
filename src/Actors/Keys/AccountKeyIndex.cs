using System.Collections.Immutable;

namespace Supervisor.Actors.Keys;

/// <summary>
/// The account keys and key sessions as the HTTP layer reads them on every request, without asking an actor:
/// an immutable view replaced by <see cref="AccountKeys"/> after each change (thread-safe).
/// </summary>
public sealed class AccountKeyIndex
{
    private volatile View _view = new(ImmutableDictionary<string, AccountKeyInfo>.Empty, ImmutableDictionary<string, KeySession>.Empty);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the keys have been read from the journal (until then no key is known).</summary>
    public Task Loaded => _loaded.Task;

    /// <summary>Waits (at most <paramref name="timeout"/>) until the keys are read; false when they are not yet.</summary>
    public async Task<bool> WaitLoadedAsync(TimeSpan timeout) =>
        _loaded.Task.IsCompleted || await Task.WhenAny(_loaded.Task, Task.Delay(timeout)) == _loaded.Task;

    private sealed record View(ImmutableDictionary<string, AccountKeyInfo> Keys, ImmutableDictionary<string, KeySession> Sessions);

    /// <summary>Every key, revoked ones included.</summary>
    public IReadOnlyCollection<AccountKeyInfo> Keys => _view.Keys.Values.ToList();

    /// <summary>The usable key that <paramref name="presented"/> is, or null (unknown, wrong secret, revoked, expired).</summary>
    public AccountKeyInfo? Authenticate(string? presented, DateTimeOffset now) =>
        AccountKey.TryParse(presented, out var id, out var secret)
        && _view.Keys.TryGetValue(id, out var key)
        && AccountKey.Matches(secret, key.Hash)
        && key.IsUsable(now)
            ? key
            : null;

    /// <summary>A key by id, usable or not.</summary>
    public AccountKeyInfo? Key(string id) => _view.Keys.GetValueOrDefault(id);

    /// <summary>An open key session by id, or null.</summary>
    public KeySession? Session(string sid) => _view.Sessions.GetValueOrDefault(sid);

    /// <summary>Replaces the view (by the <see cref="AccountKeys"/> actor only).</summary>
    internal void Publish(IReadOnlyDictionary<string, AccountKeyInfo> keys, IReadOnlyDictionary<string, KeySession> sessions)
    {
        _view = new View(keys.ToImmutableDictionary(), sessions.ToImmutableDictionary());
        _loaded.TrySetResult();
    }
}
