namespace Supervisor.Host.Proxy;

/// <summary>
/// How many requests each account has passing through at once, and the most it may have: a client that sends without
/// waiting (a bot gone wrong, a stolen key) holds a buffered body, a connection to the PDS and a loan each, and would
/// take the host's memory and the server's budget from every other account. Thread-safe.
/// </summary>
public sealed class RequestsInFlight(int limit)
{
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>The most requests one account has in flight.</summary>
    public int Limit => limit;

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
