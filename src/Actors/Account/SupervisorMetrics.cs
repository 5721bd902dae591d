namespace Supervisor.Actors.Account;

/// <summary>
/// Counters every account actor adds to (thread-safe, lock-free): logins, refreshes, refresh failures,
/// and the latency of authenticated calls in Prometheus-style cumulative buckets.
/// </summary>
public sealed class SupervisorMetrics
{
    /// <summary>Upper bounds, in seconds, of the request latency buckets.</summary>
    public static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly long[] _latencyCounts = new long[LatencyBuckets.Length + 1];
    private long _logins;
    private long _loginFailures;
    private long _refreshes;
    private long _refreshFailures;
    private long _requests;
    private long _latencyMicros;

    /// <summary>Sessions created by login or account creation.</summary>
    public long Logins => Interlocked.Read(ref _logins);

    /// <summary>Logins refused by the server or the client.</summary>
    public long LoginFailures => Interlocked.Read(ref _loginFailures);

    /// <summary>Successful refreshes.</summary>
    public long Refreshes => Interlocked.Read(ref _refreshes);

    /// <summary>Failed refreshes (transient or final).</summary>
    public long RefreshFailures => Interlocked.Read(ref _refreshFailures);

    /// <summary>Authenticated calls answered (by the PDS or by a transport failure).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>The summed latency of those calls, in seconds.</summary>
    public double RequestSeconds => Interlocked.Read(ref _latencyMicros) / 1e6;

    /// <summary>Calls per latency bucket (not cumulative; the last is +Inf).</summary>
    public long[] LatencyCounts => _latencyCounts.Select(c => Interlocked.Read(ref c)).ToArray();

    internal void LoginSucceeded() => Interlocked.Increment(ref _logins);

    internal void LoginFailed() => Interlocked.Increment(ref _loginFailures);

    internal void Refreshed() => Interlocked.Increment(ref _refreshes);

    internal void RefreshFailed() => Interlocked.Increment(ref _refreshFailures);

    internal void RequestAnswered(TimeSpan latency)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _latencyMicros, (long)(latency.TotalMilliseconds * 1000));
        var bucket = Array.FindIndex(LatencyBuckets, b => latency.TotalSeconds <= b);
        Interlocked.Increment(ref _latencyCounts[bucket < 0 ? LatencyBuckets.Length : bucket]);
    }
}
