using System.Diagnostics;

namespace Supervisor.Actors.Tracing;

/// <summary>
/// The supervisor's own spans (ActivitySource <see cref="SourceName"/>) and the W3C trace context that carries a
/// request's trace across a mailbox. An actor does not run in the sender's execution context, so a message that
/// belongs to a request carries its <c>traceparent</c> (<see cref="CurrentTraceParent"/>) and the actor starts its
/// span as a child of it (<see cref="StartChild"/>). Without a listener (no exporter configured) no span is created.
/// </summary>
public static class SupervisorTrace
{
    /// <summary>The name of the ActivitySource (what an OpenTelemetry tracer provider adds as a source).</summary>
    public const string SourceName = "Supervisor";

    /// <summary>The supervisor's ActivitySource.</summary>
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>The W3C <c>traceparent</c> of the current activity, or null when there is none (or it is not W3C).</summary>
    public static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>
    /// Starts a span as a child of <paramref name="traceParent"/> (a W3C <c>traceparent</c>; a root span when it is
    /// null or malformed) and makes it current; null when nobody listens or the parent was not sampled.
    /// The caller ends it with <see cref="Leave"/>.
    /// </summary>
    public static Activity? StartChild(string name, string? traceParent, string did, string nsid)
    {
        ActivityContext.TryParse(traceParent, null, isRemote: false, out var parent);
        var span = Source.StartActivity(name, ActivityKind.Internal, parent);
        span?.SetTag("atproto.did", did);
        span?.SetTag("xrpc.method", nsid);
        return span;
    }

    /// <summary>
    /// The span of a message the account answers at once without serving it (it has no session): started and ended
    /// here with the outcome <c>unavailable</c>, so that the request's trace shows where its refusal came from.
    /// </summary>
    public static void Refused(string name, string? traceParent, string did, string nsid)
    {
        var previous = Activity.Current;
        var span = StartChild(name, traceParent, did, nsid);
        span?.SetTag("supervisor.outcome", "unavailable");
        Leave(span, previous, stop: true);
    }

    /// <summary>
    /// Leaves a span started in one message handler: <paramref name="previous"/> becomes current again, so the span does
    /// not leak into the next message the dispatcher thread handles. With <paramref name="stop"/> the span ends here;
    /// otherwise it stays open until <see cref="Stop"/> (work it started goes on in its own execution context).
    /// </summary>
    public static void Leave(Activity? span, Activity? previous, bool stop)
    {
        if (stop) span?.Stop();
        Activity.Current = previous;
    }

    /// <summary>Ends a span left open by <see cref="Leave"/>, with its outcome, in whatever handler the outcome arrives.</summary>
    public static void Stop(Activity? span, string outcome, bool failed = false)
    {
        if (span is null) return;
        var current = Activity.Current;
        span.SetTag("supervisor.outcome", outcome);
        if (failed) span.SetStatus(ActivityStatusCode.Error, outcome);
        span.Stop();
        Activity.Current = current;
    }
}
