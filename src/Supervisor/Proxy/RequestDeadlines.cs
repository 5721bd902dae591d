using System.Collections.Concurrent;

namespace Supervisor.Host.Proxy;

/// <summary>
/// The deadlines of the requests passed through to a PDS, kept for reuse (<see cref="CancellationTokenSource.TryReset"/>,
/// as YARP keeps its own): a request takes one and gives it back, so that it makes no linked source, timer or
/// registration list of its own.
/// </summary>
public sealed class RequestDeadlines(int poolSize = RequestDeadlines.DefaultPoolSize)
{
    /// <summary>The most deadlines kept for reuse (beyond the requests in flight at once, they are disposed).</summary>
    public const int DefaultPoolSize = 1_024;

    private readonly ConcurrentQueue<RequestDeadline> _pool = new();
    private int _pooled;

    /// <summary>A deadline <paramref name="timeout"/> from now, cancelled earlier when <paramref name="clientGone"/> is.</summary>
    public RequestDeadline Start(TimeSpan timeout, CancellationToken clientGone)
    {
        if (_pool.TryDequeue(out var deadline)) Interlocked.Decrement(ref _pooled);
        else deadline = new RequestDeadline(this);
        deadline.Begin(timeout, clientGone);
        return deadline;
    }

    /// <summary>Keeps <paramref name="deadline"/> (ended and not cancelled) for the next request; false when the pool is full.</summary>
    internal bool Keep(RequestDeadline deadline)
    {
        if (Interlocked.Increment(ref _pooled) > poolSize)
        {
            Interlocked.Decrement(ref _pooled);
            return false;
        }
        _pool.Enqueue(deadline);
        return true;
    }
}
