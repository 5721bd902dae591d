using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Protocol;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Host.Http;

/// <summary><c>GET /metrics</c> in the Prometheus text format.</summary>
public static class MetricsEndpoint
{
    /// <summary>Maps the endpoint.</summary>
    public static void MapMetrics(this WebApplication app, SupervisorMetrics metrics, JournalHealth journal, TimeSpan askTimeout) =>
        app.MapGet("/metrics", async (IRequiredActor<AccountsSupervisor> supervisor) =>
        {
            var counts = await supervisor.ActorRef.Ask<AccountCounts>(GetAccountCounts.Instance, askTimeout);
            return Results.Text(Render(metrics, journal, counts), "text/plain; version=0.0.4");
        });

    /// <summary>The metrics as Prometheus text.</summary>
    public static string Render(SupervisorMetrics metrics, JournalHealth journal, AccountCounts counts)
    {
        var text = new StringBuilder();
        void Metric(string name, string type, string help, params (string Labels, double Value)[] samples)
        {
            text.Append("# HELP ").Append(name).Append(' ').AppendLine(help);
            text.Append("# TYPE ").Append(name).Append(' ').AppendLine(type);
            foreach (var (labels, value) in samples)
                text.Append(name).Append(labels).Append(' ').AppendLine(value.ToString(CultureInfo.InvariantCulture));
        }

        var byState = counts.ByState;
        Metric("supervisor_accounts", "gauge", "Accounts by state.",
            Enum.GetValues<AccountStateName>().Select(s => ($"{{state=\"{s}\"}}", (double)byState.GetValueOrDefault(s))).ToArray());
        Metric("supervisor_accounts_running", "gauge", "Accounts running as actors (the others are passivated: idle, stopped).", ("", counts.Running));
        Metric("supervisor_journal_available", "gauge", "1 while the journal database answers, 0 during an outage.", ("", journal.IsAvailable ? 1 : 0));
        Metric("supervisor_unjournaled_events", "gauge", "Account events held in memory until the journal is back.", ("", counts.UnjournaledEvents));
        Metric("supervisor_logins_total", "counter", "Sessions created by login or account creation.", ("", metrics.Logins));
        Metric("supervisor_login_failures_total", "counter", "Logins refused.", ("", metrics.LoginFailures));
        Metric("supervisor_refreshes_total", "counter", "Successful refreshes.", ("", metrics.Refreshes));
        Metric("supervisor_refresh_failures_total", "counter", "Failed refreshes.", ("", metrics.RefreshFailures));

        var latencies = metrics.LatencyCounts;
        var cumulative = 0L;
        var buckets = new List<(string, double)>();
        for (var i = 0; i < SupervisorMetrics.LatencyBuckets.Length; i++)
        {
            cumulative += latencies[i];
            buckets.Add(($"_bucket{{le=\"{SupervisorMetrics.LatencyBuckets[i].ToString(CultureInfo.InvariantCulture)}\"}}", cumulative));
        }
        buckets.Add(("_bucket{le=\"+Inf\"}", cumulative + latencies[^1]));
        buckets.Add(("_sum", metrics.RequestSeconds));
        buckets.Add(("_count", metrics.Requests));
        Metric("supervisor_request_duration_seconds", "histogram", "Latency of authenticated calls through the supervisor.", buckets.ToArray());
        return text.ToString();
    }
}
