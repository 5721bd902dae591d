using Supervisor.Actors.Protocol;

namespace Supervisor.Actors.Account;

/// <summary>
/// The accounts' gauges kept in memory and updated as accounts change (thread-safe): every account actor reports its
/// state when it changes (its previous state loses one, the new one gains one), when it starts and when it stops, so
/// reading the gauges costs nothing whatever the number of accounts. One small entry per account (its last state, its
/// events held while the journal is down, whether it is passivated): about 30 bytes, 3 MB for 100,000 accounts.
/// A passivated account keeps its last state.
/// </summary>
public sealed class AccountTally
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Entry> _accounts = new(StringComparer.Ordinal);
    private readonly long[] _byState = new long[Enum.GetValues<AccountStateName>().Length];
    private long _running;
    private long _passivated;
    private long _unjournaled;

    private record struct Entry(AccountStateName State, int Unjournaled, bool Passivated);

    /// <summary>Accounts whose last reported state is <paramref name="state"/>.</summary>
    public long InState(AccountStateName state)
    {
        lock (_gate) return _byState[(int)state];
    }

    /// <summary>Account actors running now.</summary>
    public long Running => Interlocked.Read(ref _running);

    /// <summary>Accounts whose actor stopped to passivate and has not started since.</summary>
    public long Passivated
    {
        get
        {
            lock (_gate) return _passivated;
        }
    }

    /// <summary>Account events held in memory until the journal is back, over all accounts.</summary>
    public long Unjournaled
    {
        get
        {
            lock (_gate) return _unjournaled;
        }
    }

    /// <summary>An account known to the registry whose actor has not reported yet: counted as Recovering (no change if it has reported).</summary>
    public void Recovering(string did)
    {
        lock (_gate)
        {
            if (_accounts.ContainsKey(did)) return;
            _accounts[did] = new Entry(AccountStateName.Recovering, 0, false);
            _byState[(int)AccountStateName.Recovering]++;
        }
    }

    /// <summary>The account <paramref name="did"/> is now in <paramref name="state"/> and holds <paramref name="unjournaled"/> events.</summary>
    public void Report(string did, AccountStateName state, int unjournaled)
    {
        lock (_gate)
        {
            if (_accounts.TryGetValue(did, out var old))
            {
                _byState[(int)old.State]--;
                _unjournaled -= old.Unjournaled;
            }
            _accounts[did] = old with { State = state, Unjournaled = unjournaled };
            _byState[(int)state]++;
            _unjournaled += unjournaled;
        }
    }

    /// <summary>The actor of <paramref name="did"/> started (it is no longer passivated).</summary>
    public void Started(string did)
    {
        Interlocked.Increment(ref _running);
        lock (_gate)
        {
            if (!_accounts.TryGetValue(did, out var entry) || !entry.Passivated) return;
            _accounts[did] = entry with { Passivated = false };
            _passivated--;
        }
    }

    /// <summary>The actor of <paramref name="did"/> stopped, to passivate or for another reason (a journal failure, the shutdown).</summary>
    public void Stopped(string did, bool passivated)
    {
        Interlocked.Decrement(ref _running);
        if (!passivated) return;
        lock (_gate)
        {
            if (!_accounts.TryGetValue(did, out var entry) || entry.Passivated) return;
            _accounts[did] = entry with { Passivated = true };
            _passivated++;
        }
    }
}
