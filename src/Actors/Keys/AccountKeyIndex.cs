using System.Collections.Immutable;

namespace Supervisor.Actors.Keys;

/// <summary>
/// The account keys and key sessions as the HTTP layer reads them on every request, without asking an actor:
/// an immutable view replaced by this node's <see cref="AccountKeysReplica"/> after each change (thread-safe), with the
/// sequence number of the last event it holds.
/// </summary>
public sealed class AccountKeyIndex
{
    private volatile View _view = new(AccountKeysState.Empty, -1);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes once this node holds the keys as the cluster's owner of the keys has journaled them (until then a key
    /// issued through another node may be unknown here).
    /// </summary>
    public Task Loaded => _loaded.Task;

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>, and while <paramref name="cancel"/> is not cancelled: a request whose
    /// client left stops waiting) until the keys are read; false when they are not yet.
    /// </summary>
    public async Task<bool> WaitLoadedAsync(TimeSpan timeout, CancellationToken cancel = default)
    {
        if (_loaded.Task.IsCompleted) return true;
        try
        {
            await _loaded.Task.WaitAsync(timeout, cancel);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private sealed record View(AccountKeysState State, long SequenceNr)
    {
        public ImmutableDictionary<string, AccountKeyInfo> Keys => State.Keys;
        public ImmutableDictionary<string, KeySession> Sessions => State.Sessions;
    }

    /// <summary>Every key, revoked ones included.</summary>
    public IReadOnlyCollection<AccountKeyInfo> Keys => _view.Keys.Values.ToList();

    /// <summary>The sequence number of the last key event this view holds (-1 before the journal was read).</summary>
    public long SequenceNr => _view.SequenceNr;

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>) until this view holds the key event <paramref name="sequenceNr"/>, so
    /// that a change made through this node is read by its next request; false when it does not yet.
    /// </summary>
    public async Task<bool> WaitForAsync(long sequenceNr, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (_view.SequenceNr < sequenceNr)
        {
            var changed = _changed.Task;
            if (_view.SequenceNr >= sequenceNr) break;
            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                return _view.SequenceNr >= sequenceNr;
            }
        }
        return true;
    }

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

    /// <summary>Completes <see cref="Loaded"/> (by this node's <see cref="AccountKeysReplica"/> only).</summary>
    internal void MarkLoaded() => _loaded.TrySetResult();

    /// <summary>Replaces the view (by this node's <see cref="AccountKeysReplica"/> only).</summary>
    internal void Publish(AccountKeysState state, long sequenceNr)
    {
        _view = new View(state, sequenceNr);
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
