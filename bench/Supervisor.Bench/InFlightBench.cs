using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Supervisor.Bench;

/// <summary>
/// The host's memory while large requests are in flight through it: 1 and 10 uploads of 5 MiB to a bench PDS that
/// reads them slowly, then 1 and 10 getRepo answers of 30 MB read slowly by the client. The host's resident memory
/// (<see cref="ProcessMemory"/>) is sampled during a window of the slow part and compared with the same figure just
/// before; how many bytes were between the client and the server (in sockets and in the host) is printed beside it.
/// </summary>
public static class InFlightBench
{
    private const int UploadSize = 5 * 1024 * 1024;
    private const long RepoSize = 30_000_000;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(100);

    public static async Task RunAsync()
    {
        await using var pds = await BenchPds.StartAsync(requestBuffer: 64 * 1024);
        pds.RepoBytes = RepoSize;
        await using var host = await BenchHost.StartAsync();
        var did = await host.LoginAsync(pds.Url, "inflight.bench");
        var (hostPort, pdsPort) = (new Uri(host.Url).Port, new Uri(pds.Url).Port);
        var body = RandomNumberGenerator.GetBytes(UploadSize);
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { BaseAddress = new Uri(host.Url), Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.AdminToken);
        Console.WriteLine($"in flight: the host's resident memory (/proc/PID/status VmRSS and RssAnon) sampled every {Every.TotalMilliseconds:0} ms for {Window.TotalSeconds:0} s " +
                          "while large requests are in flight, against its median over the second before them");
        Console.WriteLine($"slow server: reads uploads 16 KiB every {pds.SlowReadPause.TotalMilliseconds:0} ms; slow client: reads answers 16 KiB every 10 ms");

        // Warm-up with small bodies, one at a time: the paths are compiled (and tiered up) without filling the
        // buffer pools, so that what the large requests hold shows.
        var small = RandomNumberGenerator.GetBytes(64 * 1024);
        pds.RepoBytes = small.Length;
        for (var i = 0; i < 60; i++)
        {
            await UploadAsync(client, did, small, _ => { });
            await DownloadAsync(client, did, null, _ => { }, CancellationToken.None);
        }
        pds.RepoBytes = RepoSize;
        await Task.Delay(TimeSpan.FromSeconds(2));

        foreach (var (count, round) in new[] { (1, "first"), (10, "first"), (1, "again"), (10, "again") })
        {
            var baseline = await BaselineAsync(host.Pid);
            long sent = 0;
            var readBefore = pds.UploadBytesRead;
            pds.SlowUploads = true;
            var uploads = Enumerable.Range(0, count).Select(_ => UploadAsync(client, did, body, n => Interlocked.Add(ref sent, n))).ToArray();
            await Task.Delay(TimeSpan.FromSeconds(1));
            var samples = await SampleAsync(host.Pid);
            var (sentThen, readThen) = (Interlocked.Read(ref sent), pds.UploadBytesRead - readBefore);
            var (clientSide, pdsSide) = (SocketQueues.Of(hostPort), SocketQueues.Of(pdsPort));
            pds.SlowUploads = false;
            await Task.WhenAll(uploads);
            Print($"{count} upload(s) of 5 MiB ({round})", count, baseline, samples,
                  Transit("client had sent", sentThen, "server read", readThen, clientSide, pdsSide));
        }

        foreach (var count in new[] { 1, 10 })
        {
            var baseline = await BaselineAsync(host.Pid);
            long read = 0;
            var writtenBefore = pds.RepoBytesWritten;
            using var slow = new CancellationTokenSource();
            var downloads = Enumerable.Range(0, count).Select(_ => DownloadAsync(client, did, slow.Token, n => Interlocked.Add(ref read, n), CancellationToken.None)).ToArray();
            await Task.Delay(TimeSpan.FromSeconds(1));
            var samples = await SampleAsync(host.Pid);
            var (readThen, writtenThen) = (Interlocked.Read(ref read), pds.RepoBytesWritten - writtenBefore);
            var (clientSide, pdsSide) = (SocketQueues.Of(hostPort), SocketQueues.Of(pdsPort));
            await slow.CancelAsync();
            await Task.WhenAll(downloads);
            Print($"{count} getRepo answer(s) of 30 MB", count, baseline, samples,
                  Transit("server had written", writtenThen, "client read", readThen, clientSide, pdsSide));
        }
    }

    /// <summary>Where the bytes between the two ends were at the end of the window.</summary>
    private static string Transit(string fromVerb, long from, string toVerb, long to, long clientSide, long pdsSide)
    {
        static string MiB(long bytes) => $"{bytes / 1048576.0:0.00} MiB";
        return $"{fromVerb} {MiB(from)}, {toVerb} {MiB(to)}: {MiB(from - to)} between them, of which in socket buffers {MiB(clientSide)} " +
               $"(client-host) and {MiB(pdsSide)} (host-PDS), so {MiB(from - to - clientSide - pdsSide)} in the host's and the bench PDS's buffers (at most 64 KiB a request)";
    }

    private static async Task UploadAsync(HttpClient client, string did, byte[] body, Action<int> written)
    {
        var content = new CountingContent(body, written);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var answer = await client.PostAsync($"/accounts/{did}/xrpc/com.atproto.repo.uploadBlob", content);
        var text = await answer.Content.ReadAsStringAsync();
        if (!answer.IsSuccessStatusCode || !text.Contains($"\"size\":{body.Length}", StringComparison.Ordinal))
            throw new InvalidOperationException($"an upload answered {(int)answer.StatusCode}");
    }

    /// <summary>Reads one getRepo answer: 16 KiB every 10 ms until <paramref name="slowUntil"/> is cancelled, then as fast as it comes.</summary>
    private static async Task DownloadAsync(HttpClient client, string did, CancellationToken? slowUntil, Action<int> read, CancellationToken ct)
    {
        using var answer = await client.GetAsync($"/accounts/{did}/xrpc/com.atproto.sync.getRepo?did={did}", HttpCompletionOption.ResponseHeadersRead, ct);
        if (!answer.IsSuccessStatusCode) throw new InvalidOperationException($"getRepo answered {(int)answer.StatusCode}");
        await using var stream = await answer.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[64 * 1024];
        long total = 0;
        while (true)
        {
            var slow = slowUntil is { IsCancellationRequested: false };
            var n = await stream.ReadAsync(buffer.AsMemory(0, slow ? 16 * 1024 : buffer.Length), ct);
            if (n == 0) break;
            total += n;
            read(n);
            if (slow) await Task.Delay(10, ct);
        }
        if (answer.Content.Headers.ContentLength is { } length && total != length)
            throw new InvalidOperationException($"getRepo answered {total} bytes instead of {length}");
    }

    private static async Task<ProcessMemory> BaselineAsync(int pid)
    {
        var samples = new List<ProcessMemory>();
        for (var i = 0; i < 10; i++)
        {
            samples.Add(ProcessMemory.Of(pid));
            await Task.Delay(Every);
        }
        return new ProcessMemory(Median(samples.Select(s => s.RssKb)), Median(samples.Select(s => s.AnonKb)));
    }

    private static async Task<List<ProcessMemory>> SampleAsync(int pid)
    {
        var samples = new List<ProcessMemory>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < Window)
        {
            samples.Add(ProcessMemory.Of(pid));
            await Task.Delay(Every);
        }
        return samples;
    }

    private static void Print(string what, int count, ProcessMemory baseline, List<ProcessMemory> samples, string transit)
    {
        var rss = Median(samples.Select(s => s.RssKb)) - baseline.RssKb;
        var anon = Median(samples.Select(s => s.AnonKb)) - baseline.AnonKb;
        var rssPeak = samples.Max(s => s.RssKb) - baseline.RssKb;
        Console.WriteLine($"{what}: host before {baseline.RssKb / 1024.0:0.0} MiB RSS ({baseline.AnonKb / 1024.0:0.0} anon); in flight RSS {rss:+0;-0} KiB median, {rssPeak:+0;-0} KiB peak, " +
                          $"anon {anon:+0;-0} KiB median; per request {rss / (double)count:+0;-0} KiB RSS, {anon / (double)count:+0;-0} KiB anon; {transit}");
    }

    private static long Median(IEnumerable<long> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
