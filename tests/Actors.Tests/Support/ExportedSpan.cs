namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// One span as an OTLP exporter sent it: ids in lower-case hex (an empty parent for a root span), name, kind, scope, the
/// resource's <c>service.name</c>, and the span's attributes (values as text).
/// </summary>
public sealed record ExportedSpan(
    string TraceId, string SpanId, string ParentSpanId, string Name, SpanKind Kind, string Scope, string Service, IReadOnlyDictionary<string, string> Attributes);

/// <summary>OTLP's span kinds (opentelemetry/proto/trace/v1/trace.proto).</summary>
public enum SpanKind
{
    Unspecified = 0,
    Internal = 1,
    Server = 2,
    Client = 3,
    Producer = 4,
    Consumer = 5,
}
