using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Protocol;

namespace Supervisor.Actors.Account;

/// <summary>
/// The supervisor's instruments on one <see cref="Meter"/> named <see cref="MeterName"/> (System.Diagnostics.Metrics;
/// the host exports them at <c>/metrics</c> and over OTLP, see README, "Metrics"). Thread-safe: every account actor,
/// the PDS client and the HTTP pipeline record into it. The gauges read <see cref="Accounts"/>, a tally the account
/// actors keep current as they change state, and the journal's health: a scrape never walks the accounts.
/// </summary>
public sealed class SupervisorMetrics
{
    /// <summary>The meter's name (what an OpenTelemetry <c>AddMeter</c> or a MeterListener selects).</summary>
    public const string MeterName = "Supervisor";

    /// <summary>Upper bounds, in seconds, of the request and PDS call duration buckets.</summary>
    public static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Upper bounds, in seconds, of the journal write duration buckets (a write to SQLite takes a few ms).</summary>
    public static readonly double[] JournalBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    private static readonly HashSet<string> KnownMethods = new(StringComparer.Ordinal) { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS" };

    /// <summary>The status codes' labels, made once (two are recorded for every request).</summary>
    private static readonly string[] StatusLabels = Enumerable.Range(0, 600).Select(code => code.ToString(CultureInfo.InvariantCulture)).ToArray();

    private static string StatusLabel(int status) => (uint)status < StatusLabels.Length ? StatusLabels[status] : status.ToString(CultureInfo.InvariantCulture);

    private readonly Counter<long> _logins;
    private readonly Counter<long> _loginFailures;
    private readonly Counter<long> _refreshes;
    private readonly Counter<long> _refreshFailures;
    private readonly Histogram<double> _requestDuration;
    private readonly Counter<long> _httpRequests;
    private readonly Histogram<double> _httpRequestDuration;
    private readonly Histogram<double> _pdsCallDuration;
    private readonly Histogram<double> _journalWriteDuration;
    private readonly Counter<long> _historyDropped;

    /// <summary>The instruments, with the journal gauge reading <paramref name="journal"/> when given.</summary>
    public SupervisorMetrics(JournalHealth? journal = null)
    {
        Meter = new Meter(MeterName, typeof(SupervisorMetrics).Assembly.GetName().Version?.ToString(3));
        _logins = Meter.CreateCounter<long>("supervisor.logins", description: "Sessions created by login or account creation.");
        _loginFailures = Meter.CreateCounter<long>("supervisor.login_failures", description: "Logins refused.");
        _refreshes = Meter.CreateCounter<long>("supervisor.refreshes", description: "Successful refreshes.");
        _refreshFailures = Meter.CreateCounter<long>("supervisor.refresh_failures", description: "Failed refreshes (transient or final).");
        _requestDuration = Meter.CreateHistogram("supervisor.request.duration", "s",
            "Latency of authenticated calls through the supervisor (answered by the PDS or by a transport failure).", advice: Buckets(LatencyBuckets));
        _httpRequests = Meter.CreateCounter<long>("supervisor.http.requests", description: "HTTP requests the host answered, by method and status code.");
        _httpRequestDuration = Meter.CreateHistogram("supervisor.http.request.duration", "s",
            "Time the host took to answer an HTTP request, by method and status code.", advice: Buckets(LatencyBuckets));
        _pdsCallDuration = Meter.CreateHistogram("supervisor.pds.call.duration", "s",
            "Time from sending a call to a PDS to its answer's headers, by server (host:port) and status code (error: no answer).", advice: Buckets(LatencyBuckets));
        _journalWriteDuration = Meter.CreateHistogram("supervisor.journal.write.duration", "s",
            "Time an account's event takes to be written to the journal (from Persist to its callback).", advice: Buckets(JournalBuckets));
        _historyDropped = Meter.CreateCounter<long>("supervisor.history.dropped",
            description: "Session events left out of the accounts' history because its database did not take them in time.");

        Meter.CreateObservableGauge("supervisor.accounts", () => Enum.GetValues<AccountStateName>()
            .Select(state => new Measurement<long>(Accounts.InState(state), new KeyValuePair<string, object?>("state", state.ToString()))), description: "Accounts by state.");
        Meter.CreateObservableGauge("supervisor.accounts.running", () => Accounts.Running,
            description: "Accounts running as actors.");
        Meter.CreateObservableGauge("supervisor.accounts.passivated", () => Accounts.Passivated,
            description: "Accounts passivated (idle, stopped; started again by a message or when their refresh is due).");
        Meter.CreateObservableGauge("supervisor.unjournaled_events", () => Accounts.Unjournaled,
            description: "Account events held in memory until the journal is back.");
        if (journal is not null)
            Meter.CreateObservableGauge("supervisor.journal.available", () => journal.IsAvailable ? 1 : 0,
                description: "1 while the journal database answers, 0 during an outage.");
    }

    /// <summary>The meter every instrument belongs to.</summary>
    public Meter Meter { get; }

    /// <summary>How many accounts are in each state, running and passivated, as the account actors report it.</summary>
    public AccountTally Accounts { get; } = new();

    /// <summary>
    /// Adds zero to the counters without labels, so that they are exported from the start (a series that appears only
    /// at its first event hides it from <c>rate()</c> and <c>increase()</c>); call once the exporters listen.
    /// </summary>
    public void PublishCounters()
    {
        foreach (var counter in new[] { _logins, _loginFailures, _refreshes, _refreshFailures, _historyDropped }) counter.Add(0);
    }

    internal void LoginSucceeded() => _logins.Add(1);

    internal void LoginFailed() => _loginFailures.Add(1);

    internal void Refreshed() => _refreshes.Add(1);

    internal void RefreshFailed() => _refreshFailures.Add(1);

    internal void RequestAnswered(TimeSpan latency) => _requestDuration.Record(latency.TotalSeconds);

    /// <summary>Counts <paramref name="events"/> session events the history could not keep.</summary>
    public void HistoryDropped(int events) => _historyDropped.Add(events);

    internal void JournalWritten(TimeSpan latency) => _journalWriteDuration.Record(latency.TotalSeconds);

    /// <summary>Records a call to <paramref name="server"/> (host:port) answered with <paramref name="status"/> (null: no answer).</summary>
    internal void PdsCallAnswered(string server, int? status, TimeSpan latency) =>
        _pdsCallDuration.Record(latency.TotalSeconds,
            new KeyValuePair<string, object?>("server", server),
            new KeyValuePair<string, object?>("status", status is { } code ? StatusLabel(code) : "error"));

    /// <summary>Records an HTTP request the host answered (methods outside the standard ones count as <c>_OTHER</c>).</summary>
    public void HttpRequestServed(string method, int status, TimeSpan latency)
    {
        var tags = new TagList
        {
            { "method", KnownMethods.Contains(method) ? method : "_OTHER" },
            { "status", StatusLabel(status) },
        };
        _httpRequests.Add(1, tags);
        _httpRequestDuration.Record(latency.TotalSeconds, tags);
    }

    private static InstrumentAdvice<double> Buckets(double[] bounds) => new() { HistogramBucketBoundaries = bounds };
}
