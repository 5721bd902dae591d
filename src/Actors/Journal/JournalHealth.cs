namespace Supervisor.Actors.Journal;

/// <summary>
/// Whether the journal database answers, shared by every account (thread-safe). The
/// <see cref="JournalProbe"/> keeps it current; an account whose write fails marks it unavailable at once.
/// While it is unavailable, accounts keep serving with the tokens in memory and hold their new events
/// until it is back (see <c>AccountSessionActor</c>).
/// </summary>
public sealed class JournalHealth
{
    private readonly object _gate = new();
    private JournalAvailability _current = new(true, null, null);

    /// <summary>The journal answered at the last check.</summary>
    public bool IsAvailable => Current.Available;

    /// <summary>The current availability, when it last changed and why.</summary>
    public JournalAvailability Current
    {
        get
        {
            lock (_gate) return _current;
        }
    }

    /// <summary>Records a failure; true when this changed the availability.</summary>
    public bool MarkUnavailable(string error, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (!_current.Available) return false;
            _current = new JournalAvailability(false, at, error);
            return true;
        }
    }

    /// <summary>Records a success; true when this changed the availability.</summary>
    public bool MarkAvailable(DateTimeOffset at)
    {
        lock (_gate)
        {
            if (_current.Available) return false;
            _current = new JournalAvailability(true, at, null);
            return true;
        }
    }
}

/// <summary>The journal's availability: since when (null: since the start), and the last error while unavailable.</summary>
public sealed record JournalAvailability(bool Available, DateTimeOffset? Since, string? Error);
