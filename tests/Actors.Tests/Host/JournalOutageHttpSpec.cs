using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// What the HTTP API says while the PostgreSQL journal is down (a throwaway PostgreSQL of each test, stopped):
/// new accounts are refused with 503, /healthz says degraded, /status and /metrics show the outage.
/// </summary>
public sealed class JournalOutageHttpSpec : FakePdsHostSpec
{
    private static async Task<(PostgresCluster Postgres, SupervisorProcess Host)> StartOnPostgresAsync(
        TestJournal folder, string? password = null, string? logLevel = null)
    {
        var postgres = await PostgresCluster.CreateAsync();
        var environment = new Dictionary<string, string>
        {
            ["SUPERVISOR_KEY"] = TestJournal.TestKey,
            ["SUPERVISOR_JOURNAL"] = "postgres",
            // (The test server trusts every local connection: a password given is sent when asked for, never needed.)
            ["SUPERVISOR_POSTGRES"] = postgres.ConnectionString + (password is null ? "" : ";Password=" + password),
            ["SUPERVISOR_HOCON"] = "supervisor.accounts { journal-probe-interval = 300ms, request-timeout = 5s }",
        };
        if (logLevel is not null) environment["SUPERVISOR_LOG_LEVEL"] = logLevel;
        var host = new SupervisorProcess(folder.Folder, environment);
        await host.StartAsync();
        await host.WaitUntilAccountsServeAsync();
        return (postgres, host);
    }

    private static async Task StopJournalAsync(PostgresCluster postgres, SupervisorProcess host)
    {
        await postgres.StopAsync();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < until)
        {
            var health = await host.Http.GetFromJsonAsync<JsonElement>("/healthz");
            if (health.GetProperty("journal").GetProperty("state").GetString() == "Degraded") return;
            await Task.Delay(200);
        }
        Assert.Fail("the journal did not show as degraded within 15 s");
    }

    [Fact]
    public async Task New_accounts_are_refused_with_503_during_a_journal_outage()
    {
        var (postgres, host) = await StartOnPostgresAsync(Folder);
        await using var _ = postgres;
        await using var __ = host;
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var bob = Pds.CreateAccount("bob.test", "pw-bob");
        var carol = Pds.CreateAccount("carol.test", "pw-carol");
        await LoginAsync(host, alice);

        await StopJournalAsync(postgres, host);
        var logins = Pds.CallCount("com.atproto.server.createSession");
        // The database's own error (its host, user or file) is the admin's, in /status: not a caller's.
        var databaseError = (await host.Http.GetFromJsonAsync<JsonElement>("/status")).GetProperty("journal").GetProperty("error").GetString()!;
        Assert.False(string.IsNullOrEmpty(databaseError), "/status has no error of the journal");
        using (var login = await host.Http.PostAsJsonAsync("/accounts", new { identifier = bob.Handle, password = bob.Password, service = Pds.Url }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, login.StatusCode);
            var refused = await login.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("JournalUnavailable", refused.GetProperty("error").GetString());
            Assert.DoesNotContain(databaseError, refused.GetProperty("message").GetString());
        }
        var (access, refresh) = Pds.IssuePair(carol.Did);
        using (var import = await host.Http.PostAsJsonAsync("/accounts/import", new { session = $"{carol.Handle}:::{carol.Did}:::{access}:::{refresh}:::{Pds.Url}" }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, import.StatusCode);
            Assert.Equal("JournalUnavailable", (await import.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
        Assert.Equal(logins, Pds.CallCount("com.atproto.server.createSession")); // bob's password never left
        // The account that exists goes on serving.
        using (var call = await host.Http.GetAsync($"/accounts/{alice.Did}/xrpc/com.atproto.server.getSession"))
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        Assert.Single((await host.Http.GetFromJsonAsync<JsonElement>("/accounts")).GetProperty("accounts").EnumerateArray());
    }

    [Fact]
    public async Task Healthz_status_and_metrics_show_the_journal_outage_since_when_and_why()
    {
        var (postgres, host) = await StartOnPostgresAsync(Folder);
        await using var _ = postgres;
        await using var __ = host;
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);
        var healthy = await host.Http.GetFromJsonAsync<JsonElement>("/healthz");
        Assert.Equal(("ok", "Available"), (healthy.GetProperty("status").GetString(), healthy.GetProperty("journal").GetProperty("state").GetString()));

        var stopped = DateTimeOffset.UtcNow;
        await StopJournalAsync(postgres, host);
        using (var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress })
        using (var answer = await anonymous.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            var health = await answer.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("degraded", health.GetProperty("status").GetString());
            // Open to anyone: the state, not the database's error, which the admin's /status has.
            Assert.False(health.GetProperty("journal").TryGetProperty("error", out var shown), $"/healthz shows the database's error: {shown}");
        }
        var admin = await host.Http.GetFromJsonAsync<JsonElement>("/status");
        Assert.False(string.IsNullOrEmpty(admin.GetProperty("journal").GetProperty("error").GetString()), "/status has no error of the journal");
        using (var refreshed = await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);

        var status = await host.Http.GetFromJsonAsync<JsonElement>("/status");
        var journal = status.GetProperty("journal");
        Assert.Equal("Degraded", journal.GetProperty("state").GetString());
        Assert.InRange(journal.GetProperty("since").GetDateTimeOffset(), stopped.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.False(string.IsNullOrWhiteSpace(journal.GetProperty("error").GetString()));
        var held = status.GetProperty("unjournaledEvents").GetInt32();
        Assert.True(held > 0, "the refresh is held in memory");
        var listed = (await host.Http.GetFromJsonAsync<JsonElement>("/accounts")).GetProperty("accounts");
        Assert.Equal(held, Assert.Single(listed.EnumerateArray()).GetProperty("unjournaledEvents").GetInt32());

        var metrics = await PrometheusScrape.ReadAsync(host);
        Assert.Equal(0, metrics.Value("supervisor_journal_available"));
        Assert.Equal(held, metrics.Value("supervisor_unjournaled_events"));
        Assert.Empty(Secrets.JwtsIn(host.Output));
    }

    [Fact]
    public async Task The_PostgreSQL_password_is_in_no_log_line_and_no_answer_through_an_outage_and_its_end()
    {
        var password = TestSecrets.Password("pg-" + Guid.NewGuid().ToString("N"));
        var (postgres, host) = await StartOnPostgresAsync(Folder, password, logLevel: "Debug");
        await using var _ = postgres;
        await using var __ = host;
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        await LoginAsync(host, alice);

        // An outage: the database's errors reach the log, /status and the metrics; a refresh's events are held.
        await StopJournalAsync(postgres, host);
        using (var refreshed = await host.Http.PostAsync($"/accounts/{alice.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var answers = new List<(string Path, string Text)>();
        async Task ReadAllAsync()
        {
            using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };
            foreach (var path in new[] { "/healthz", "/healthz/ready", "/healthz/live" })
                answers.Add((path, await (await anonymous.GetAsync(path)).Content.ReadAsStringAsync()));
            foreach (var path in new[] { "/status", "/", "/accounts", "/metrics" })
            {
                using var answer = await host.Http.GetAsync(path);
                Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)answer.StatusCode}");
                answers.Add((path, await answer.Content.ReadAsStringAsync()));
            }
        }
        await ReadAllAsync();
        var status = await host.Http.GetFromJsonAsync<JsonElement>("/status");
        Assert.False(string.IsNullOrEmpty(status.GetProperty("journal").GetProperty("error").GetString()), "/status has no error of the journal");

        // Its end: the journal answers again and the held events are written.
        await postgres.StartAsync();
        await SupervisorSpec.EventuallyAsync(async () =>
                (await host.Http.GetFromJsonAsync<JsonElement>("/healthz")).GetProperty("journal").GetProperty("state").GetString() == "Available",
            TimeSpan.FromSeconds(30), "the journal to answer again");
        await ReadAllAsync();
        Assert.Equal(0, await host.TerminateAsync()); // its log written out whole

        foreach (var (path, text) in answers)
            Assert.False(text.Contains(password, StringComparison.Ordinal), $"{path} holds the PostgreSQL password");
        Assert.True(host.Output.Contains("The journal is unavailable", StringComparison.Ordinal), "the host's output has no line of the outage");
        Assert.False(host.Output.Contains(password, StringComparison.Ordinal), "the host's output holds the PostgreSQL password");
        var log = await File.ReadAllTextAsync(host.LogFile);
        Assert.True(log.Contains("The journal is unavailable", StringComparison.Ordinal), "the log file has no line of the outage");
        Assert.False(log.Contains(password, StringComparison.Ordinal), "the log file holds the PostgreSQL password");
    }
}
