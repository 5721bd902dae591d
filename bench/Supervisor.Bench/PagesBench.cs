using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace Supervisor.Bench;

/// <summary>
/// The operator views at scale: N imported accounts (no validation call) in a real host process, then the time and
/// size of the status page, a filtered page, the next page, an account's page, and the JSON listing and counts, each
/// fetched over HTTP with the admin token (HttpClient: the time to the last byte, not a browser's render).
/// </summary>
public static class PagesBench
{
    public static async Task RunAsync(int count)
    {
        await using var pds = await BenchPds.StartAsync();
        await using var host = await BenchHost.StartAsync();
        var clock = Stopwatch.StartNew();
        var now = DateTimeOffset.UtcNow;
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var did = Accounts.Did(i);
                var (access, refresh) = BenchJwt.Pair(did, now, now.AddHours(2));
                using var answer = await host.Http.PostAsJsonAsync("/accounts/import",
                    new { session = $"a{i}.bench:::{did}:::{access}:::{refresh}:::{pds.Url}", service = pds.Url, validate = false });
                if ((int)answer.StatusCode != 201) throw new InvalidOperationException($"import {i} answered {(int)answer.StatusCode}");
            }
            finally
            {
                gate.Release();
            }
        }));
        Console.WriteLine($"pages: {count} accounts imported over HTTP in {clock.Elapsed.TotalSeconds:0.0} s");

        var first = await host.Http.GetStringAsync("/");
        var next = WebUtilityDecode(Regex.Match(first, "<a href=\"([^\"]*)\">next page</a>").Groups[1].Value);
        var did = Accounts.Did(count / 2);
        Console.WriteLine("view                                   ms (first)   ms (median of 5)      bytes");
        foreach (var (name, path) in new[]
                 {
                     ("status page /", "/"),
                     ("filtered page /?state=Active&q=a1234", "/?state=Active&q=a1234"),
                     ("next page", next),
                     ("account page", "/status/accounts/" + Uri.EscapeDataString(did)),
                     ("JSON /accounts?limit=1000", "/accounts?limit=1000"),
                     ("JSON /status", "/status"),
                 })
        {
            var times = new List<double>();
            long bytes = 0;
            for (var i = 0; i < 6; i++)
            {
                var watch = Stopwatch.StartNew();
                using var answer = await host.Http.GetAsync(path);
                var body = await answer.Content.ReadAsByteArrayAsync();
                times.Add(watch.Elapsed.TotalMilliseconds);
                if (!answer.IsSuccessStatusCode) throw new InvalidOperationException($"{path} answered {(int)answer.StatusCode}");
                bytes = body.Length;
            }
            var median = times.Skip(1).Order().ElementAt(2);
            Console.WriteLine($"{name,-38} {times[0],12:0.0} {median,18:0.0} {bytes,10:N0}");
        }
    }

    private static string WebUtilityDecode(string text) => System.Net.WebUtility.HtmlDecode(text);
}
