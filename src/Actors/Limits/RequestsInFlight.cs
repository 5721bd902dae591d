namespace Supervisor.Actors.Limits;

/// <summary>
/// How many requests each account has passing through at once, and the most it may have: a client that sends without
/// waiting (a bot gone wrong, a stolen key) holds a buffered body, a connection to the PDS and a loan each, and would
/// take the host's memory and the server's budget from every other account. Past the limit as many more may wait for a
/// place, in the order they came (a bot's <c>Promise.all</c> of a hundred calls, which its PDS would serve, is served);
/// one more than that is refused. Counted by the DID, or the handle in any case, that the request names
/// (<see cref="Counted"/>). Thread-safe.
/// </summary>
public sealed class RequestsInFlight(int limit)
{
    private sealed class Places
    {
        public int Taken;
        public Queue<TaskCompletionSource<bool>>? Waiting;
    }

    private readonly Dictionary<string, Places> _accounts = new(StringComparer.Ordinal);

    /// <summary>The most requests one account has in flight, and the most that wait for a place besides.</summary>
    public int Limit => limit;

    /// <summary>
    /// The name <paramref name="accountId"/> (a DID, or a handle in any case, with spaces or an '@' before it as the
    /// accounts take it) is counted by.
    /// </summary>
    public static string Counted(string accountId)
    {
        var id = accountId.Trim().TrimStart('@');
        return id.StartsWith("did:", StringComparison.Ordinal) ? id : id.ToLowerInvariant();
    }

    /// <summary>Counts a request of <paramref name="account"/> in; false (not counted) when it has <see cref="Limit"/> already.</summary>
    public bool TryEnter(string account)
    {
        lock (_accounts) return TryTake(account, out _);
    }

    /// <summary>Takes one of <paramref name="account"/>'s places if one is free (under the lock); its places either way.</summary>
    private bool TryTake(string account, out Places places)
    {
        if (!_accounts.TryGetValue(account, out places!)) _accounts[account] = places = new Places();
        if (places.Taken >= limit) return false;
        places.Taken++;
        return true;
    }

    /// <summary>
    /// Counts a request of <paramref name="account"/> in, waiting for a place if it has <see cref="Limit"/> in flight: true
    /// once counted in; false at once when <see cref="Limit"/> others wait already, or when <paramref name="cancel"/> ends the wait.
    /// </summary>
    public async Task<bool> EnterAsync(string account, CancellationToken cancel)
    {
        TaskCompletionSource<bool> place;
        lock (_accounts)
        {
            if (TryTake(account, out var places)) return true;
            places.Waiting ??= new Queue<TaskCompletionSource<bool>>();
            // Those that stopped waiting (their client gone, their time up) leave their place in the queue to the next.
            if (places.Waiting.Count >= limit && places.Waiting.Any(w => w.Task.IsCompleted))
                places.Waiting = new Queue<TaskCompletionSource<bool>>(places.Waiting.Where(w => !w.Task.IsCompleted));
            if (places.Waiting.Count >= limit) return false;
            place = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            places.Waiting.Enqueue(place);
        }
        await using (cancel.Register(static state => ((TaskCompletionSource<bool>)state!).TrySetResult(false), place))
            return await place.Task.ConfigureAwait(false);
    }

    /// <summary>Counts out a request that <see cref="TryEnter"/> or <see cref="EnterAsync"/> let in: its place goes to the first still waiting.</summary>
    public void Leave(string account)
    {
        lock (_accounts)
        {
            var places = _accounts[account];
            while (places.Waiting is { Count: > 0 } waiting)
                if (waiting.Dequeue().TrySetResult(true)) return; // handed over: still taken
            places.Waiting = null;
            if (--places.Taken == 0) _accounts.Remove(account);
        }
    }
}
