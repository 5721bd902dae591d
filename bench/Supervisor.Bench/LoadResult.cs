namespace Supervisor.Bench;

/// <summary>What one load run measured: answers per second and latency percentiles.</summary>
public sealed record LoadResult(string Name, int Requests, int Failures, TimeSpan Duration, double P50Ms, double P99Ms)
{
    public double PerSecond => Requests / Duration.TotalSeconds;

    /// <summary>
    /// Runs <paramref name="send"/> from <paramref name="workers"/> loops for <paramref name="duration"/> (after a warm-up);
    /// <paramref name="measuring"/> is called once between the warm-up and the measured part.
    /// </summary>
    public static async Task<LoadResult> MeasureAsync(string name, int workers, TimeSpan duration, Func<Task<bool>> send, Action? measuring = null)
    {
        var warmUntil = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            while (DateTime.UtcNow < warmUntil) await send();
        }));
        measuring?.Invoke();
        var latencies = new List<double>[workers];
        var failures = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
        {
            var mine = latencies[w] = new List<double>();
            while (clock.Elapsed < duration)
            {
                var started = clock.Elapsed;
                if (!await send()) Interlocked.Increment(ref failures);
                mine.Add((clock.Elapsed - started).TotalMilliseconds);
            }
        }));
        var elapsed = clock.Elapsed;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new LoadResult(name, all.Length, failures, elapsed, Percentile(all, 0.50), Percentile(all, 0.99));
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    public override string ToString() =>
        $"{Name,-22} {PerSecond,10:0} req/s   p50 {P50Ms,7:0.00} ms   p99 {P99Ms,7:0.00} ms   failures {Failures}";
}
