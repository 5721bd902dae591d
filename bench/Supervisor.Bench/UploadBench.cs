using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Supervisor.Bench;

/// <summary>
/// Upload throughput: 1 MiB uploadBlob bodies (random bytes, image/png) to the local bench PDS, from the same
/// concurrent loops, one way after the other in one run: directly with HttpClient, through a minimal YARP
/// forwarder (in the bench process, the bearer set by a transform), and through the host's HTTP API (a real host
/// process with an account logged in at the bench PDS, the admin token as the caller's bearer).
/// </summary>
public static class UploadBench
{
    private const int Size = 1024 * 1024;
    private const string Method = "com.atproto.repo.uploadBlob";

    public static async Task RunAsync(int workers, TimeSpan duration)
    {
        await using var pds = await BenchPds.StartAsync();
        var body = RandomNumberGenerator.GetBytes(Size);
        var did = Accounts.DidOf("upload.bench");
        var now = DateTimeOffset.UtcNow;
        var (access, _) = BenchJwt.Pair(did, now, now.AddHours(2));
        Console.WriteLine($"upload throughput: {Method}, 1 MiB bodies, {workers} concurrent loops, {duration.TotalSeconds:0} s each (after 2 s of warm-up), local bench PDS");
        Console.WriteLine("cpu ms/req: CPU time of the bench process (client, bench PDS, in-process YARP) and of the proxy's own process (YARP process, host), over every request of the way");
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { Timeout = TimeSpan.FromMinutes(1) };

        var direct = await MeasureAsync("direct HttpClient", client, $"{pds.Url}/xrpc/{Method}", access, body, workers, duration, null);
        Console.WriteLine(direct);

        Way yarp;
        await using (var proxy = await BenchYarp.StartAsync(pds.Url, access))
            yarp = await MeasureAsync("through YARP", client, $"{proxy.Url}/xrpc/{Method}", null, body, workers, duration, null);
        Console.WriteLine(yarp);

        // The same YARP as a process of its own, as the host is: the fair comparison.
        Way yarpProcess;
        await using (var proxy = await BenchYarpProcess.StartAsync(pds.Url, access))
            yarpProcess = await MeasureAsync("through YARP (process)", client, $"{proxy.Url}/xrpc/{Method}", null, body, workers, duration, () => proxy.CpuTime);
        Console.WriteLine(yarpProcess);

        Way supervisor;
        await using (var host = await BenchHost.StartAsync())
        {
            var loggedIn = await host.LoginAsync(pds.Url, "upload.bench");
            if (loggedIn != did) throw new InvalidOperationException("the host logged in another DID than expected");
            supervisor = await MeasureAsync("through the host's API", client, $"{host.Url}/accounts/{did}/xrpc/{Method}", host.AdminToken, body, workers, duration, () => host.CpuTime);
        }
        Console.WriteLine(supervisor);
        Console.WriteLine($"ratio host/YARP-process {supervisor.Load.PerSecond / yarpProcess.Load.PerSecond:0.00}   host/YARP {supervisor.Load.PerSecond / yarp.Load.PerSecond:0.00}   host/direct {supervisor.Load.PerSecond / direct.Load.PerSecond:0.00}   YARP/direct {yarp.Load.PerSecond / direct.Load.PerSecond:0.00}");
    }

    /// <summary>One way's figures: the load, and the CPU it took per request.</summary>
    private sealed record Way(LoadResult Load, double BenchCpuMs, double HostCpuMs)
    {
        public override string ToString() =>
            $"{Load.Name,-24} {Load.PerSecond,7:0.0} req/s {Load.PerSecond * Size / 1e6,7:0.0} MB/s   p50 {Load.P50Ms,7:0.00} ms   p99 {Load.P99Ms,7:0.00} ms   " +
            $"failures {Load.Failures}   cpu ms/req: bench {BenchCpuMs:0.00}, host {HostCpuMs:0.00}";
    }

    /// <summary>Measures one way; <paramref name="proxyCpu"/> reads the CPU time of the proxy's own process, if it has one.</summary>
    private static async Task<Way> MeasureAsync(string name, HttpClient client, string url, string? bearer, byte[] body, int workers, TimeSpan duration, Func<TimeSpan>? proxyCpu)
    {
        async Task<HttpResponseMessage> Send()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            return await client.SendAsync(request);
        }

        using (var first = await Send())
        {
            var answer = await first.Content.ReadAsStringAsync();
            if (!first.IsSuccessStatusCode || !answer.Contains($"\"size\":{Size}", StringComparison.Ordinal))
                throw new InvalidOperationException($"{name}: the first upload answered {(int)first.StatusCode}");
        }
        var sent = 0;
        var bench = Process.GetCurrentProcess();
        var benchCpu = bench.TotalProcessorTime;
        var hostCpu = proxyCpu?.Invoke() ?? TimeSpan.Zero;
        var load = await LoadResult.MeasureAsync(name, workers, duration, async () =>
        {
            Interlocked.Increment(ref sent);
            using var answer = await Send();
            await answer.Content.ReadAsByteArrayAsync();
            return answer.IsSuccessStatusCode;
        });
        bench.Refresh();
        var benchMs = (bench.TotalProcessorTime - benchCpu).TotalMilliseconds / sent;
        var hostMs = proxyCpu is null ? 0 : (proxyCpu() - hostCpu).TotalMilliseconds / sent;
        return new Way(load, benchMs, hostMs);
    }
}
