using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// The probes for orchestrators: <c>/healthz/live</c> and <c>/healthz/ready</c> answer without credentials; ready waits
/// for the accounts' index; a journal outage leaves the node ready and shows as degraded (here and in <c>/healthz</c>).
/// </summary>
public sealed class HealthSpec : FakePdsHostSpec
{
    private static async Task<(HttpStatusCode Status, JsonElement Body, string Text)> ProbeAsync(SupervisorProcess host, string path)
    {
        using var anonymous = new HttpClient { BaseAddress = host.Http.BaseAddress };
        using var answer = await anonymous.GetAsync(path);
        var text = await answer.Content.ReadAsStringAsync();
        return (answer.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), text);
    }

    private static string CheckStatus(JsonElement body, string check) => body.GetProperty("checks").GetProperty(check).GetProperty("status").GetString()!;

    private static async Task<(HttpStatusCode Status, JsonElement Body, string Text)> ProbeUntilAsync(SupervisorProcess host, string path, Func<HttpStatusCode, JsonElement, bool> done, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        (HttpStatusCode Status, JsonElement Body, string Text) answer;
        do
        {
            answer = await ProbeAsync(host, path);
            if (done(answer.Status, answer.Body)) return answer;
            await Task.Delay(200);
        } while (DateTime.UtcNow < until);
        Assert.Fail($"{what} within 60 s: {(int)answer.Status} {answer.Text}");
        return answer;
    }

    [Fact]
    public async Task Live_and_ready_answer_without_credentials_and_reveal_nothing()
    {
        await using var host = new SupervisorProcess(Folder.Folder);
        await host.StartAsync();

        var (status, body, text) = await ProbeAsync(host, "/healthz/live");
        Assert.Equal((HttpStatusCode.OK, "Healthy"), (status, body.GetProperty("status").GetString()));
        // (The journal's first answer may come late on a busy machine: degraded meanwhile, as it should.)
        (status, body, text) = await ProbeUntilAsync(host, "/healthz/ready", (s, b) => s == HttpStatusCode.OK && b.GetProperty("status").GetString() == "Healthy",
            "the node did not become ready");
        Assert.Equal(("Healthy", "Healthy"), (CheckStatus(body, "accounts"), CheckStatus(body, "journal")));
        Assert.DoesNotContain(host.AdminToken, text);
        Assert.DoesNotContain(host.OperatorPassword, text);
        Assert.DoesNotContain(Folder.Folder, text);
    }

    [Fact]
    public async Task Ready_waits_for_the_accounts_index_and_a_later_journal_outage_leaves_it_ready_but_degraded()
    {
        await using var postgres = await PostgresCluster.CreateAsync();
        await postgres.StopAsync();
        await using var host = new SupervisorProcess(Folder.Folder, new Dictionary<string, string>
        {
            ["SUPERVISOR_KEY"] = TestJournal.TestKey,
            ["SUPERVISOR_JOURNAL"] = "postgres",
            ["SUPERVISOR_POSTGRES"] = postgres.ConnectionString,
            ["SUPERVISOR_HOCON"] = "supervisor.accounts { journal-probe-interval = 300ms, request-timeout = 5s }",
        });
        await host.StartAsync();

        // The registry cannot be read while its database is down: alive, not ready.
        var (status, body, _) = await ProbeAsync(host, "/healthz/ready");
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), (status, body.GetProperty("status").GetString()));
        Assert.Equal("Unhealthy", CheckStatus(body, "accounts"));
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(host, "/healthz/live")).Status);

        await postgres.StartAsync();
        (_, body, _) = await ProbeUntilAsync(host, "/healthz/ready", (s, b) => s == HttpStatusCode.OK && b.GetProperty("status").GetString() == "Healthy",
            "the node did not become ready once the journal answered");
        Assert.Equal("Healthy", CheckStatus(body, "accounts"));

        await postgres.StopAsync();
        (status, body, var text) = await ProbeUntilAsync(host, "/healthz/ready", (_, b) => CheckStatus(b, "journal") == "Degraded", "the journal did not show as degraded");
        Assert.Equal((HttpStatusCode.OK, "Degraded", "Healthy"), (status, body.GetProperty("status").GetString(), CheckStatus(body, "accounts")));
        Assert.DoesNotContain(postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), text);
        var health = await ProbeAsync(host, "/healthz");
        Assert.Equal((HttpStatusCode.OK, "degraded"), (health.Status, health.Body.GetProperty("status").GetString()));
    }
}
