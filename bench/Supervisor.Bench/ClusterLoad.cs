using System.Diagnostics;
using System.Net;

namespace Supervisor.Bench;

/// <summary>
/// A load that runs while something happens to the cluster: loops send getSession through the nodes that
/// <see cref="Route"/> picks, each request with its own timeout, and every request is kept (when it started, how
/// long it took, its status or -1 for no answer) so that the time around an event can be cut into windows.
/// </summary>
public sealed class ClusterLoad
{
    private readonly List<Sample>[] _samples;
    private readonly Task _running;
    private readonly CancellationTokenSource _stop = new();

    /// <summary>One request: its start since the load began, its latency and its HTTP status (-1: no answer in time).</summary>
    public readonly record struct Sample(TimeSpan Start, double Ms, int Status)
    {
        public bool Ok => Status == (int)HttpStatusCode.OK;
    }

    /// <summary>Picks the node and the account of request <c>i</c> of loop <c>w</c>.</summary>
    public delegate (int Node, string Did) Route(int worker, long i);

    /// <summary>The load's own clock: samples are timed from its start.</summary>
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>Starts <paramref name="workers"/> loops through <paramref name="cluster"/>.</summary>
    public ClusterLoad(BenchCluster cluster, int workers, TimeSpan requestTimeout, Route route)
    {
        _samples = Enumerable.Range(0, workers).Select(_ => new List<Sample>()).ToArray();
        _running = Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            for (long i = 0; !_stop.IsCancellationRequested; i++)
            {
                var (node, did) = route(w, i);
                var started = Clock.Elapsed;
                var status = -1;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(requestTimeout);
                try
                {
                    using var answer = await cluster.Client.GetAsync(cluster.GetSessionUrl(node, did), HttpCompletionOption.ResponseContentRead, timeout.Token);
                    status = (int)answer.StatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                {
                    if (_stop.IsCancellationRequested) break;
                    // no answer in time, or the connection refused or reset: a failed request
                    if (e is HttpRequestException) await Task.Delay(50);
                }
                _samples[w].Add(new Sample(started, (Clock.Elapsed - started).TotalMilliseconds, status));
            }
        })));
    }

    /// <summary>Stops the loops (requests in flight are dropped, not counted) and returns every request, by start.</summary>
    public async Task<List<Sample>> StopAsync()
    {
        await _stop.CancelAsync();
        await _running;
        return _samples.SelectMany(s => s).OrderBy(s => s.Start).ToList();
    }

    /// <summary>One line on the requests that started in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public static string Describe(string name, List<Sample> samples, TimeSpan from, TimeSpan to)
    {
        var window = samples.Where(s => s.Start >= from && s.Start < to).ToList();
        var latencies = window.Select(s => s.Ms).Order().ToArray();
        var failed = window.Where(s => !s.Ok).GroupBy(s => s.Status).OrderBy(g => g.Key)
            .Select(g => $"{g.Count()} x {(g.Key < 0 ? "no answer" : g.Key.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        var seconds = Math.Max((to - from).TotalSeconds, 0.001);
        return $"{name,-34} {window.Count,7} req {window.Count / seconds,8:0} req/s   p50 {Percentile(latencies, 0.5),8:0.0} ms   p99 {Percentile(latencies, 0.99),8:0.0} ms   " +
               $"max {(latencies.Length == 0 ? 0 : latencies[^1]),8:0.0} ms   failed {window.Count(s => !s.Ok)}{(window.Any(s => !s.Ok) ? " (" + string.Join(", ", failed) + ")" : "")}";
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
}
