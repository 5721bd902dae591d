using System.Collections.Concurrent;
using System.IO.Compression;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// A minimal OpenTelemetry collector in the test process: OTLP/HTTP with protobuf (<c>POST /v1/traces</c>), decoding
/// each ExportTraceServiceRequest just far enough for the spans' ids, parents, names, kinds, scopes, attributes and service; metrics
/// (<c>POST /v1/metrics</c>) are kept as they came, for <see cref="Received"/>.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ExportedSpan> _spans = new();
    private readonly ConcurrentQueue<byte[]> _requests = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>The base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it.</summary>
    public string Url { get; private set; } = "";

    /// <summary>Every span received so far.</summary>
    public IReadOnlyList<ExportedSpan> Spans => _spans.ToList();

    /// <summary>Whether <paramref name="text"/> occurs anywhere in what was exported (names, attributes, everything).</summary>
    public bool Received(string text)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(text);
        return _requests.Any(r => r.AsSpan().IndexOf(needle) >= 0);
    }

    /// <summary>Starts a receiver on a free loopback port.</summary>
    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", receiver.ReceiveAsync);
        app.MapPost("/v1/metrics", receiver.ReceiveAsync);
        await app.StartAsync();
        receiver.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return receiver;
    }

    /// <summary>Waits until the spans of <paramref name="traceId"/> satisfy <paramref name="complete"/>; the spans of that trace.</summary>
    public async Task<IReadOnlyList<ExportedSpan>> WaitForTraceAsync(string traceId, Func<IReadOnlyList<ExportedSpan>, bool> complete, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var trace = Spans.Where(s => s.TraceId == traceId).ToList();
            if (complete(trace) || DateTime.UtcNow > until) return trace;
            await Task.Delay(100);
        }
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        var input = context.Request.Headers.ContentEncoding == "gzip" ? new GZipStream(context.Request.Body, CompressionMode.Decompress) : context.Request.Body;
        await input.CopyToAsync(body);
        _requests.Enqueue(body.ToArray());
        if (context.Request.Path == "/v1/traces")
            foreach (var span in Decode(body.ToArray())) _spans.Enqueue(span);
        // An empty ExportTraceServiceResponse (or ExportMetricsServiceResponse).
        context.Response.ContentType = "application/x-protobuf";
        context.Response.ContentLength = 0;
    }

    /// <summary>ExportTraceServiceRequest: 1 = ResourceSpans (repeated).</summary>
    internal static IEnumerable<ExportedSpan> Decode(byte[] request)
    {
        var spans = new List<ExportedSpan>();
        foreach (var resourceSpans in Fields(request, 1))
        {
            // ResourceSpans: 1 = Resource (1 = attributes), 2 = ScopeSpans (repeated); ScopeSpans: 1 = InstrumentationScope
            // (1 = name), 2 = Span (repeated).
            var service = Fields(resourceSpans, 1).SelectMany(resource => Attributes(Fields(resource, 1))).FirstOrDefault(a => a.Key == "service.name").Value ?? "";
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                var scope = Fields(scopeSpans, 1).Select(s => Text(s, 1)).FirstOrDefault() ?? "";
                spans.AddRange(Fields(scopeSpans, 2).Select(span => ReadSpan(span, scope, service)));
            }
        }
        return spans;
    }

    /// <summary>KeyValue: 1 key, 2 AnyValue (1 string_value; 2 bool, 3 int, 4 double, as text).</summary>
    private static Dictionary<string, string> Attributes(IEnumerable<byte[]> keyValues)
    {
        var attributes = new Dictionary<string, string>();
        foreach (var keyValue in keyValues)
        {
            var value = Fields(keyValue, 2).FirstOrDefault();
            if (Text(keyValue, 1) is not { } key || value is null) continue;
            var input = new CodedInputStream(value);
            var tag = input.ReadTag();
            attributes[key] = WireFormat.GetTagFieldNumber(tag) switch
            {
                1 => input.ReadString(),
                2 => input.ReadBool() ? "true" : "false",
                3 => input.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
                4 => input.ReadDouble().ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => "",
            };
        }
        return attributes;
    }

    /// <summary>Span: 1 trace_id, 2 span_id, 4 parent_span_id (bytes), 5 name (string), 6 kind (enum), 9 attributes.</summary>
    private static ExportedSpan ReadSpan(byte[] span, string scope, string service)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var attributes = new List<byte[]>();
        var kind = SpanKind.Unspecified;
        var input = new CodedInputStream(span);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: traceId = Hex(input.ReadBytes()); break;
                case 2 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: spanId = Hex(input.ReadBytes()); break;
                case 4 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: parent = Hex(input.ReadBytes()); break;
                case 5 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: name = input.ReadString(); break;
                case 6 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint: kind = (SpanKind)input.ReadEnum(); break;
                case 9 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: attributes.Add(input.ReadBytes().ToByteArray()); break;
                default: input.SkipLastField(); break;
            }
        }
        return new ExportedSpan(traceId, spanId, parent, name, kind, scope, service, Attributes(attributes));
    }

    /// <summary>The length-delimited fields numbered <paramref name="number"/> of a message.</summary>
    private static List<byte[]> Fields(byte[] message, int number)
    {
        var found = new List<byte[]>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == number && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                found.Add(input.ReadBytes().ToByteArray());
            else
                input.SkipLastField();
        }
        return found;
    }

    private static string? Text(byte[] message, int number) =>
        Fields(message, number).Select(b => System.Text.Encoding.UTF8.GetString(b)).FirstOrDefault();

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
