namespace Supervisor.Host.Proxy;

/// <summary>
/// The deadline of one request passed through to a PDS: cancelled after its time or as soon as the client goes away.
/// Taken from <see cref="RequestDeadlines"/> and given back with <see cref="Return"/> once nothing uses its token.
/// </summary>
public sealed class RequestDeadline : CancellationTokenSource
{
    private readonly RequestDeadlines _pool;
    private CancellationTokenRegistration _clientGone;

    internal RequestDeadline(RequestDeadlines pool) => _pool = pool;

    internal void Begin(TimeSpan timeout, CancellationToken clientGone)
    {
        CancelAfter(timeout);
        _clientGone = clientGone.UnsafeRegister(static d => ((RequestDeadline)d!).Cancel(), this);
    }

    /// <summary>Ends the deadline: kept for the next request unless it was cancelled (or its pool is full).</summary>
    public void Return()
    {
        // Waits for a cancellation running on another thread to finish: the client's token cancels it no more.
        _clientGone.Dispose();
        _clientGone = default;
        if (TryReset() && _pool.Keep(this)) return;
        Dispose();
    }
}
