using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// One refreshSession that went through <see cref="RefreshHoldingProxy"/>: the jti sent and the jti answered, when it
/// arrived, and the process that sent it (when it could be told from /proc).
/// </summary>
public sealed record ProxiedRefresh(string? Did, string? SentTokenId, string? AnsweredTokenId, int Status, DateTimeOffset ArrivedAt, int? SenderProcess);

/// <summary>
/// An HTTP proxy on loopback in front of a PDS (real or fake) that passes every XRPC call on and can hold the
/// answer of the next refreshSession after the server has given it: the server has rotated the pair, the
/// caller has not heard of it yet, for as long as a spec needs (to kill the caller in that moment).
/// Records the token ids of every refreshSession it passed on.
/// </summary>
public sealed class RefreshHoldingProxy : IAsyncDisposable
{
    private const string RefreshSession = "com.atproto.server.refreshSession";

    private readonly WebApplication _app;
    private readonly string _target;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly ConcurrentQueue<ProxiedRefresh> _refreshes = new();
    private TaskCompletionSource<ProxiedRefresh>? _held;

    private RefreshHoldingProxy(WebApplication app, string target)
    {
        _app = app;
        _target = target.TrimEnd('/');
    }

    /// <summary>The proxy's base URL.</summary>
    public string Url { get; private set; } = "";

    /// <summary>Every refreshSession passed on (a held one once the server answered it), in order.</summary>
    public IReadOnlyList<ProxiedRefresh> Refreshes => _refreshes.ToList();

    /// <summary>Starts a proxy to <paramref name="target"/> on a free loopback port.</summary>
    public static async Task<RefreshHoldingProxy> StartAsync(string target)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var proxy = new RefreshHoldingProxy(app, target);
        app.Map("/xrpc/{nsid}", proxy.ForwardAsync);
        await app.StartAsync();
        proxy.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return proxy;
    }

    /// <summary>
    /// Holds the answer of the next refreshSession (after the server gave it) until the caller goes away;
    /// the task completes once the server has answered it.
    /// </summary>
    public Task<ProxiedRefresh> HoldNextRefresh()
    {
        var held = new TaskCompletionSource<ProxiedRefresh>(TaskCreationOptions.RunContinuationsAsynchronously);
        _held = held;
        return held.Task;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var nsid = (string)context.Request.RouteValues["nsid"]!;
        var arrivedAt = DateTimeOffset.UtcNow;
        var sender = nsid == RefreshSession ? LoopbackConnections.ProcessOf(context.Connection.RemotePort) : null;
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), $"{_target}/xrpc/{nsid}{context.Request.QueryString}");
        if (context.Request.Headers.Authorization.ToString() is { Length: > 0 } authorization)
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            request.Content = new ByteArrayContent(body.ToArray());
            if (context.Request.ContentType is { } type) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
        }
        using var answer = await _http.SendAsync(request);
        var bytes = await answer.Content.ReadAsByteArrayAsync();
        if (nsid == RefreshSession)
        {
            var sent = request.Headers.Authorization?.Parameter;
            var refresh = new ProxiedRefresh(DidOf(bytes), JwtClaims.TryRead(sent, out _)?.TokenId, JwtClaims.TryRead(RefreshJwtOf(bytes), out _)?.TokenId, (int)answer.StatusCode, arrivedAt, sender);
            _refreshes.Enqueue(refresh);
            if (Interlocked.Exchange(ref _held, null) is { } held)
            {
                held.TrySetResult(refresh);
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // the caller is gone: the answer is lost, as the spec wants
                }
                return;
            }
        }
        context.Response.StatusCode = (int)answer.StatusCode;
        foreach (var (name, values) in answer.Headers.Where(h => h.Key.StartsWith("RateLimit-", StringComparison.OrdinalIgnoreCase)))
            context.Response.Headers[name] = values.ToArray();
        if (answer.Content.Headers.ContentType is { } contentType) context.Response.ContentType = contentType.ToString();
        await context.Response.Body.WriteAsync(bytes);
    }

    private static string? RefreshJwtOf(byte[] body) => StringOf(body, "refreshJwt");

    private static string? DidOf(byte[] body) => StringOf(body, "did");

    private static string? StringOf(byte[] body, string name)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty(name, out var value) ? value.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
        _http.Dispose();
    }
}
