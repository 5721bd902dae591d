using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Supervisor.Actors.Accounts;
using Supervisor.Host.Configuration;

namespace Supervisor.Bench;

/// <summary>
/// The operator pages at scale. N accounts in a real host process, as a host has them after a restart: N - 1 imported
/// (no validation call) by an in-process ActorSystem on a PostgreSQL journal and left to rest (passivated, their status
/// with the registry buckets), that system stopped, then the host started on the same journal and token key; the middle
/// account is imported through the host's API once it runs, so that its page shows one session event. Then each page is
/// visited in headless Chromium (tests/browser/page-timings.js: the operator's Basic login, the navigation's
/// DOMContentLoaded and load event, the bytes transferred; the first visit and the median of the next five), and fetched
/// with HttpClient and the admin token (the time to the last byte), with the JSON listing and counts.
/// </summary>
public static class PagesBench
{
    private const int Visits = 6;
    private const double PageTimeGoalMs = 1000;
    private const int PageSizeGoal = 256 * 1024;

    public static async Task RunAsync(int count)
    {
        Console.WriteLine($"at the start: {Machine.LoadAverage()}");
        await using var pds = await BenchPds.StartAsync();
        using var journal = new BenchJournal(JournalKind.Postgres);
        var withHistory = count / 2;
        var fill = await FillAsync(journal, pds.Url, count, withHistory);
        Console.WriteLine($"pages: {count - 1} accounts imported and at rest in {fill.TotalSeconds:0.0} s (in-process, PostgreSQL journal)");

        var clock = Stopwatch.StartNew();
        await using var host = await BenchHost.StartAsync(new Dictionary<string, string>
        {
            ["SUPERVISOR_JOURNAL"] = "postgres", ["SUPERVISOR_POSTGRES"] = journal.ConnectionString, ["SUPERVISOR_KEY"] = BenchJournal.TokenKey,
        });
        var healthy = clock.Elapsed;
        await WaitForTotalAsync(host, count - 1);
        var listed = clock.Elapsed;
        await ImportAsync(host, pds.Url, withHistory);
        await WaitForTotalAsync(host, count);
        Console.WriteLine($"host: /healthz after {healthy.TotalSeconds:0.0} s, {count - 1} accounts listed after {listed.TotalSeconds:0.0} s; " +
                          $"account {withHistory} imported through it");

        var next = "/?cursor=" + AccountPage.EncodeCursor(Accounts.Did(Supervisor.Host.Http.StatusPage.PageSize - 1));
        (string Name, string Path)[] pages =
        [
            ("status page /", "/"),
            ("filtered page /?state=Active&q=00000000001234 (11 accounts)", "/?state=Active&q=00000000001234"),
            ("filtered page, no match /?q=zzz", "/?q=zzz"),
            ("next page", next),
            ("account page, one event", Supervisor.Host.Http.StatusPage.AccountPath(Accounts.Did(withHistory))),
            ("account page, at rest", Supervisor.Host.Http.StatusPage.AccountPath(Accounts.Did(withHistory + 1))),
        ];
        // What the rest of the machine does while the host, the bench and its journal are idle.
        var idle = Machine.CpuTicks();
        await Task.Delay(TimeSpan.FromSeconds(5));
        Console.WriteLine($"before the measurements: the machine's cores {Machine.BusyPercentSince(idle):0} % busy over 5 s with this bench idle; " +
                          $"{Machine.LoadAverage()} (the minutes before include the import)");
        var (hostCpu, window) = (host.CpuTime, Stopwatch.StartNew());
        await BrowseAsync(host, pages);
        await FetchAsync(host, [.. pages, ("JSON /accounts?limit=1000", "/accounts?limit=1000"), ("JSON /status", "/status")], next);
        Console.WriteLine($"the measurements took {window.Elapsed.TotalSeconds:0.0} s, the host {(host.CpuTime - hostCpu).TotalSeconds:0.00} s of CPU; " +
                          $"at the end: {Machine.LoadAverage()}");
    }

    /// <summary>Imports <paramref name="count"/> - 1 accounts (all but <paramref name="skipped"/>) in-process and waits until they rest.</summary>
    private static async Task<TimeSpan> FillAsync(BenchJournal journal, string pdsUrl, int count, int skipped)
    {
        var clock = Stopwatch.StartNew();
        var (system, accounts) = journal.Start(BenchJournal.Resting);
        try
        {
            var accessExp = DateTimeOffset.UtcNow.AddHours(2);
            await Accounts.ImportAsync(accounts, pdsUrl, skipped, accessExp);
            await Accounts.ImportAsync(accounts, pdsUrl, count - skipped - 1, accessExp, first: skipped + 1);
            await Accounts.WaitForRestAsync(accounts, count - 1);
        }
        finally
        {
            await system.Terminate();
        }
        return clock.Elapsed;
    }

    private static async Task ImportAsync(BenchHost host, string pdsUrl, int i)
    {
        var did = Accounts.Did(i);
        var now = DateTimeOffset.UtcNow;
        var (access, refresh) = BenchJwt.Pair(did, now, now.AddHours(2));
        using var answer = await host.Http.PostAsJsonAsync("/accounts/import",
            new { session = $"a{i}.bench:::{did}:::{access}:::{refresh}:::{pdsUrl}", service = pdsUrl, validate = false });
        if ((int)answer.StatusCode != 201) throw new InvalidOperationException($"import {i} answered {(int)answer.StatusCode}");
    }

    private static async Task WaitForTotalAsync(BenchHost host, int total)
    {
        var clock = Stopwatch.StartNew();
        var seen = 0;
        while (clock.Elapsed < TimeSpan.FromMinutes(10))
        {
            try
            {
                var status = await host.Http.GetFromJsonAsync<JsonObject>("/status");
                seen = status?["total"]?.GetValue<int>() ?? 0;
                if (seen >= total) return;
            }
            catch (HttpRequestException)
            {
                // not ready yet (e.g. 503 while the registry recovers)
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"the host listed {seen} accounts, not {total}, after 10 minutes");
    }

    /// <summary>Headless Chromium: the login, then each page <see cref="Visits"/> times.</summary>
    private static async Task BrowseAsync(BenchHost host, (string Name, string Path)[] pages)
    {
        var found = await BenchBrowser.RunAsync("page-timings.js", new
        {
            supervisor = host.Url, operatorPassword = host.OperatorPassword, visits = Visits,
            pages = pages.Select(p => new { name = p.Name, path = p.Path }),
        });
        var login = found.GetProperty("login");
        Console.WriteLine($"Chromium {found.GetProperty("chromium").GetString()}; the login (/ with the Basic challenge, status {login.GetProperty("status").GetInt32()}): " +
                          $"load {login.GetProperty("load").GetDouble():0.0} ms, page.goto {login.GetProperty("goto").GetDouble():0.0} ms; " +
                          $"401 answers after the login: {found.GetProperty("challengesAfterLogin").GetInt32()}");
        Console.WriteLine("browser: view                          first visit: last byte / DCL / load ms   median of 5: last byte / DCL / load ms   " +
                          "page.goto median ms   transferred bytes   body bytes   under 1 s and 256 KB");
        foreach (var page in found.GetProperty("pages").EnumerateArray())
        {
            var visits = page.GetProperty("visits").EnumerateArray().ToList();
            if (visits.FirstOrDefault(v => v.GetProperty("status").GetInt32() != 200) is { ValueKind: JsonValueKind.Object } failed)
                throw new InvalidOperationException($"{page.GetProperty("name").GetString()} answered {failed.GetProperty("status").GetInt32()} in the browser");
            double First(string field) => visits[0].GetProperty(field).GetDouble();
            double Median(string field) => MedianAfterFirst(visits.Select(v => v.GetProperty(field).GetDouble()));
            var transferred = visits.Max(v => v.GetProperty("transferSize").GetInt64());
            var ok = First("load") < PageTimeGoalMs && Median("load") < PageTimeGoalMs && transferred < PageSizeGoal;
            Console.WriteLine($"{page.GetProperty("name").GetString(),-38} {First("lastByte"),13:0.0} / {First("domContentLoaded"),5:0.0} / {First("load"),-12:0.0} " +
                              $"{Median("lastByte"),18:0.0} / {Median("domContentLoaded"),5:0.0} / {Median("load"),-12:0.0} {Median("goto"),12:0.0} {transferred,19:N0} " +
                              $"{visits.Max(v => v.GetProperty("bodySize").GetInt64()),12:N0}   {(ok ? "yes" : "NO")}");
        }
    }

    /// <summary>HttpClient with the admin token: each view <see cref="Visits"/> times, the time to the last byte.</summary>
    private static async Task FetchAsync(BenchHost host, (string Name, string Path)[] views, string next)
    {
        var link = System.Net.WebUtility.HtmlDecode(Regex.Match(await host.Http.GetStringAsync("/"), "<a href=\"([^\"]*)\">next page</a>").Groups[1].Value);
        if (link != next) throw new InvalidOperationException($"the status page's next link is {link}, not {next}");
        Console.WriteLine("HttpClient: view                       ms (first)   ms (median of 5)      bytes");
        foreach (var (name, path) in views)
        {
            var times = new List<double>();
            long bytes = 0;
            for (var i = 0; i < Visits; i++)
            {
                var watch = Stopwatch.StartNew();
                using var answer = await host.Http.GetAsync(path);
                var body = await answer.Content.ReadAsByteArrayAsync();
                times.Add(watch.Elapsed.TotalMilliseconds);
                if (!answer.IsSuccessStatusCode) throw new InvalidOperationException($"{path} answered {(int)answer.StatusCode}");
                bytes = body.Length;
            }
            Console.WriteLine($"{name,-38} {times[0],12:0.0} {MedianAfterFirst(times),18:0.0} {bytes,10:N0}");
        }
    }

    /// <summary>The median of the visits after the first.</summary>
    private static double MedianAfterFirst(IEnumerable<double> times) => times.Skip(1).Order().ElementAt((Visits - 1) / 2);
}
