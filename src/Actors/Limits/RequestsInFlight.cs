namespace Supervisor.Actors.Limits;

/// <summary>
/// How many requests each account has passing through at once, and the most it may have: a client that sends without
/// waiting (a bot gone wrong, a stolen key) holds a buffered body, a connection to the PDS and a loan each, and would
/// take the host's memory and the server's budget from every other account. Counted by the DID, or the handle in any
/// case, that the request names (<see cref="Counted"/>). Thread-safe.
/// </summary>
public sealed class RequestsInFlight(int limit)
{
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>The most requests one account has in flight.</summary>
    public int Limit => limit;

    /// <summary>The name <paramref name="accountId"/> (a DID, or a handle in any case) is counted by.</summary>
    public static string Counted(string accountId) =>
        accountId.StartsWith("did:", StringComparison.Ordinal) ? accountId : accountId.ToLowerInvariant();

    /// <summary>Counts a request of <paramref name="account"/> in; false (not counted) when it has <see cref="Limit"/> already.</summary>
    public bool TryEnter(string account)
    {
        lock (_counts)
        {
            var count = _counts.GetValueOrDefault(account);
            if (count >= limit) return false;
            _counts[account] = count + 1;
            return true;
        }
    }

    /// <summary>Counts a request of <paramref name="account"/> out (one that <see cref="TryEnter"/> let in).</summary>
    public void Leave(string account)
    {
        lock (_counts)
        {
            if (_counts[account] == 1) _counts.Remove(account);
            else _counts[account]--;
        }
    }
}
