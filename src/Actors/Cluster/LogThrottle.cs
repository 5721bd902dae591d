namespace Supervisor.Actors.Cluster;

/// <summary>
/// At most one log line a second for what a system outside the cluster can cause at will (a message dropped, an entity
/// refused), for the whole node: a flood of them floods no log. Each line says how many were left out since the last.
/// </summary>
public sealed class LogThrottle
{
    private long _lastLogged = long.MinValue / 2;
    private long _notLogged;

    /// <summary>Whether a line may be written now; when it may, <paramref name="leftOut"/> is how many were not since the last.</summary>
    public bool Allows(out long leftOut)
    {
        leftOut = 0;
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastLogged);
        if (now - last < 1000 || Interlocked.CompareExchange(ref _lastLogged, now, last) != last)
        {
            Interlocked.Increment(ref _notLogged);
            return false;
        }
        leftOut = Interlocked.Exchange(ref _notLogged, 0);
        return true;
    }
}
