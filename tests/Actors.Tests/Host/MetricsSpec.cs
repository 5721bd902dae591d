using System.Net;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// <c>GET /metrics</c> (the "Supervisor" meter through OpenTelemetry's Prometheus exporter), the host as a process
/// against the fake PDS: the series and their values after known events, and the account gauges following state
/// changes and passivation without any listing.
/// </summary>
public sealed class MetricsSpec : FakePdsHostSpec
{
    private const string GetSession = "com.atproto.server.getSession";

    private async Task<SupervisorProcess> StartServingHostAsync(string? hocon = null)
    {
        var host = await StartHostAsync(hocon);
        await host.WaitUntilAccountsServeAsync();
        return host;
    }

    /// <summary>Scrapes until <paramref name="done"/> holds (the exporter caches an answer for 300 ms; gauges follow actors).</summary>
    private static async Task<PrometheusScrape> ScrapeUntilAsync(SupervisorProcess host, Func<PrometheusScrape, bool> done, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        PrometheusScrape scrape;
        do
        {
            scrape = await PrometheusScrape.ReadAsync(host);
            if (done(scrape)) return scrape;
            await Task.Delay(200);
        } while (DateTime.UtcNow < until);
        Assert.Fail($"{what} within 20 s:\n{scrape.Text}");
        return scrape;
    }

    [Fact]
    public async Task Every_series_of_before_is_exported_from_the_start_with_its_name_and_type()
    {
        await using var host = await StartServingHostAsync();

        var metrics = await PrometheusScrape.ReadAsync(host);
        foreach (var counter in new[]
                 {
                     "supervisor_logins_total", "supervisor_login_failures_total", "supervisor_refreshes_total", "supervisor_refresh_failures_total",
                     "supervisor_history_dropped_total",
                 })
        {
            Assert.Equal("counter", metrics.TypeOf(counter));
            Assert.Equal(0, metrics.Value(counter));
        }
        foreach (var gauge in new[] { "supervisor_accounts_running", "supervisor_accounts_passivated", "supervisor_unjournaled_events" })
        {
            Assert.Equal("gauge", metrics.TypeOf(gauge));
            Assert.Equal(0, metrics.Value(gauge));
        }
        Assert.Equal(1, metrics.Value("supervisor_journal_available"));
        Assert.Equal("gauge", metrics.TypeOf("supervisor_accounts"));
        Assert.Equal(10, metrics.LabelsOf("supervisor_accounts").Count()); // every state, at 0
        Assert.Equal(0, metrics.Sum("supervisor_accounts"));
    }

    [Fact]
    public async Task The_runtimes_own_series_are_exported_beside_the_supervisors_allocations_collections_and_CPU_time()
    {
        await using var host = await StartServingHostAsync();

        var before = await PrometheusScrape.ReadAsync(host);
        Assert.Equal("counter", before.TypeOf("dotnet_gc_heap_total_allocated_bytes_total"));
        Assert.Equal("counter", before.TypeOf("dotnet_process_cpu_time_seconds_total"));
        Assert.Equal("counter", before.TypeOf("dotnet_thread_pool_work_item_count_total"));
        Assert.NotEmpty(before.LabelsOf("dotnet_gc_collections_total"));
        var allocated = before.Value("dotnet_gc_heap_total_allocated_bytes_total")!.Value;
        for (var i = 0; i < 20; i++)
            using (var status = await host.Http.GetAsync("/status")) Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        await ScrapeUntilAsync(host, m => m.Value("dotnet_gc_heap_total_allocated_bytes_total") > allocated, "the host's allocations counted");
    }

    [Fact]
    public async Task Requests_are_counted_and_timed_by_method_and_status_code()
    {
        await using var host = await StartServingHostAsync();
        using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };

        using (var refused = await anonymous.GetAsync("/accounts")) Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using (var missing = await host.Http.GetAsync("/accounts/did:plc:nobody")) Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using (var missing = await host.Http.GetAsync("/accounts/did:plc:nobody")) Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using (var odd = await host.Http.SendAsync(new HttpRequestMessage(new HttpMethod("BREW"), "/accounts"))) Assert.NotEqual(HttpStatusCode.OK, odd.StatusCode);

        var metrics = await PrometheusScrape.ReadAsync(host);
        Assert.Equal("counter", metrics.TypeOf("supervisor_http_requests_total"));
        Assert.Equal(1, metrics.Value("supervisor_http_requests_total", ("method", "GET"), ("status", "401")));
        Assert.Equal(2, metrics.Value("supervisor_http_requests_total", ("method", "GET"), ("status", "404")));
        Assert.Equal(1, metrics.Sum("supervisor_http_requests_total", ("method", "_OTHER")));
        Assert.DoesNotContain(metrics.LabelsOf("supervisor_http_requests_total"), labels => labels["method"] == "BREW");
        Assert.Equal("histogram", metrics.TypeOf("supervisor_http_request_duration_seconds"));
        Assert.Equal(2, metrics.Value("supervisor_http_request_duration_seconds_count", ("method", "GET"), ("status", "404")));
        Assert.Equal(2, metrics.Value("supervisor_http_request_duration_seconds_bucket", ("method", "GET"), ("status", "404"), ("le", "+Inf")));
    }

    [Fact]
    public async Task A_scrape_answer_is_reused_for_300_ms_and_a_scraper_asking_for_OpenMetrics_gets_it()
    {
        await using var host = await StartServingHostAsync();
        using var scraper = new HttpClient { BaseAddress = host.Http.BaseAddress };

        // Within 300 ms of an answer the same bytes come again, though a request was counted in between; after, they change.
        byte[]? first = null;
        for (var attempt = 0; attempt < 5 && first is null; attempt++)
        {
            await Task.Delay(400); // the answer before has aged out: the next one is made now
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var made = await scraper.GetByteArrayAsync("/metrics");
            using (var missing = await host.Http.GetAsync("/accounts/did:plc:nobody")) Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            await Task.Delay(50);
            var again = await scraper.GetByteArrayAsync("/metrics");
            if (clock.ElapsedMilliseconds >= 250) continue; // too slow to tell on this machine now: try again
            Assert.Equal(made, again);
            first = made;
        }
        Assert.True(first is not null, "no two scrapes within 250 ms in five tries");
        await Task.Delay(400);
        var later = await scraper.GetByteArrayAsync("/metrics");
        Assert.NotEqual(first, later);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Accept.ParseAdd("application/openmetrics-text; version=1.0.0; charset=utf-8");
        using var openMetrics = await scraper.SendAsync(request);
        Assert.Equal("application/openmetrics-text", openMetrics.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("# EOF\n", await openMetrics.Content.ReadAsStringAsync());
        using var plain = await scraper.GetAsync("/metrics");
        Assert.Equal("text/plain", plain.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("# EOF", await plain.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Pds_calls_are_timed_by_server_and_status_and_journal_writes_are_timed()
    {
        await using var host = await StartServingHostAsync("supervisor.accounts { backoff-min = 1m, backoff-max = 2m }");
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        using (var call = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}")) Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        using (var refresh = await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null)) Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
        Pds.FailNext("com.atproto.server.refreshSession", FakeFailure.ServerError500);
        using (var refresh = await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null)) Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);

        var metrics = await PrometheusScrape.ReadAsync(host);
        var server = ("server", $"127.0.0.1:{new Uri(Pds.Url).Port}");
        Assert.Equal("histogram", metrics.TypeOf("supervisor_pds_call_duration_seconds"));
        // createSession, getSession (through the pass-through), refreshSession: at least; the failed refresh apart.
        Assert.InRange(metrics.Value("supervisor_pds_call_duration_seconds_count", server, ("status", "200"))!.Value, 3, 10);
        Assert.Equal(1, metrics.Value("supervisor_pds_call_duration_seconds_count", server, ("status", "500")));
        Assert.Equal(1, metrics.Value("supervisor_refresh_failures_total"));
        // The session, the two refresh intents and the refresh: each journaled write is timed.
        Assert.Equal("histogram", metrics.TypeOf("supervisor_journal_write_duration_seconds"));
        Assert.InRange(metrics.Value("supervisor_journal_write_duration_seconds_count")!.Value, 4, 10);
        Assert.InRange(metrics.Value("supervisor_journal_write_duration_seconds_sum")!.Value, 1e-6, 60);
        Assert.Empty(Secrets.JwtsIn(metrics.Text));
        // Nor a DID or a handle: an account is never a label.
        Assert.DoesNotContain(alice.Did, metrics.Text);
        Assert.DoesNotContain(alice.Handle, metrics.Text);
    }

    [Fact]
    public async Task Durations_have_the_READMEs_buckets_a_PDS_call_without_an_answer_is_status_error_and_target_info_names_the_service()
    {
        await using var host = await StartServingHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        Pds.FailNext(GetSession, FakeFailure.DropConnection);
        using (var lost = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}")) Assert.Equal(HttpStatusCode.BadGateway, lost.StatusCode);
        using (var call = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}")) Assert.Equal(HttpStatusCode.OK, call.StatusCode);

        var metrics = await PrometheusScrape.ReadAsync(host);
        var server = ("server", $"127.0.0.1:{new Uri(Pds.Url).Port}");
        Assert.Equal(1, metrics.Value("supervisor_pds_call_duration_seconds_count", server, ("status", "error")));
        // 5 ms to 10 s for requests and PDS calls, 1 ms to 5 s for journal writes, each with +Inf.
        (double Low, double High)? Bounds(string histogram)
        {
            var bounds = metrics.LabelsOf(histogram + "_bucket").Select(labels => labels["le"]).Where(le => le != "+Inf").Distinct()
                .Select(le => double.Parse(le, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Contains(metrics.LabelsOf(histogram + "_bucket"), labels => labels["le"] == "+Inf");
            return bounds.Count == 0 ? null : (bounds.Min(), bounds.Max());
        }
        Assert.Equal((0.005, 10), Bounds("supervisor_pds_call_duration_seconds"));
        Assert.Equal((0.005, 10), Bounds("supervisor_http_request_duration_seconds"));
        Assert.Equal((0.005, 10), Bounds("supervisor_request_duration_seconds"));
        Assert.Equal((0.001, 5), Bounds("supervisor_journal_write_duration_seconds"));
        // The service, in the series the exporter writes for its resource.
        var target = Assert.Single(metrics.LabelsOf("target_info"));
        Assert.Equal("supervisor", target["service_name"]);
    }

    [Fact]
    public async Task Account_gauges_follow_state_changes_passivation_and_a_restart()
    {
        var hocon = "supervisor.accounts { passivate-after = 500ms, active-window = 1h, backoff-min = 1m, backoff-max = 2m }";
        var host = await StartServingHostAsync(hocon);
        try
        {
            var alice = Pds.CreateAccount("alice.test", "pw-alice");
            var bob = Pds.CreateAccount("bob.test", "pw-bob");
            await LoginAsync(host, alice);
            await LoginAsync(host, bob);

            // Idle since their login: both passivate, and keep their state.
            var metrics = await ScrapeUntilAsync(host, m => m.Value("supervisor_accounts_passivated") == 2, "both accounts did not passivate");
            Assert.Equal((0, 2), (metrics.Value("supervisor_accounts_running"), metrics.Value("supervisor_accounts", ("state", "Active"))));

            // A call starts alice again (and, active now, she stays); a failed refresh makes her Degraded.
            using (var call = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/{GetSession}")) Assert.Equal(HttpStatusCode.OK, call.StatusCode);
            Pds.FailNext("com.atproto.server.refreshSession", FakeFailure.ServerError500);
            using (var refresh = await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null)) Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
            metrics = await ScrapeUntilAsync(host, m => m.Value("supervisor_accounts", ("state", "Degraded")) == 1, "alice did not show as Degraded");
            Assert.Equal((1, 1, 1), (metrics.Value("supervisor_accounts", ("state", "Active")), metrics.Value("supervisor_accounts_running"),
                metrics.Value("supervisor_accounts_passivated")));

            // Bob logs out (his actor starts for it): Active loses him, LoggedOut gains him.
            using (var logout = await host.Http.DeleteAsync($"/accounts/{bob.Did}")) Assert.Equal(HttpStatusCode.OK, logout.StatusCode);
            metrics = await ScrapeUntilAsync(host, m => m.Value("supervisor_accounts", ("state", "LoggedOut")) == 1, "bob did not show as LoggedOut");
            Assert.Equal(0, metrics.Value("supervisor_accounts", ("state", "Active")));
            Assert.Equal(2, metrics.Sum("supervisor_accounts"));

            // After a restart every account is counted once, in the state it recovered (bob's bucket and alice's recover
            // in their own time: wait for both).
            await host.TerminateAsync();
            await host.StartAsync();
            metrics = await ScrapeUntilAsync(host, m => m.Value("supervisor_accounts", ("state", "LoggedOut")) == 1 && m.Value("supervisor_accounts", ("state", "Recovering")) == 0
                                                        && m.Value("supervisor_accounts", ("state", "Active")) + m.Value("supervisor_accounts", ("state", "Degraded")) == 1,
                "the accounts did not recover");
            Assert.Equal(2, metrics.Sum("supervisor_accounts"));
        }
        finally
        {
            await host.DisposeAsync();
        }
    }
}
