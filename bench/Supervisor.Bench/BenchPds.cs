using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Supervisor.Bench;

/// <summary>
/// A minimal local PDS for benchmarks, on a loopback port: getSession answers who the bearer is,
/// refreshSession rotates the pair (access tokens live <see cref="AccessLifetime"/>), and every call is
/// counted. It checks no signature: it stands for the server's cost, not its rules.
/// </summary>
public sealed class BenchPds : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _calls = new();

    private BenchPds(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    /// <summary>The lifetime of the access tokens refreshSession issues.</summary>
    public TimeSpan AccessLifetime { get; set; } = TimeSpan.FromHours(2);

    public int Calls(string nsid) => _calls.GetValueOrDefault(nsid);

    public static async Task<BenchPds> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var pds = new BenchPds(app);
        app.MapGet("/xrpc/com.atproto.server.getSession", (HttpContext context) =>
        {
            pds.Count("com.atproto.server.getSession");
            var did = Bearer(context) is { } jwt ? BenchJwt.Subject(jwt) : null;
            return did is null
                ? Results.Json(new { error = "AuthMissing", message = "Authentication Required" }, statusCode: 401)
                : Results.Json(new { did, handle = did[8..] + ".bench", active = true });
        });
        app.MapPost("/xrpc/com.atproto.server.refreshSession", (HttpContext context) =>
        {
            pds.Count("com.atproto.server.refreshSession");
            var did = Bearer(context) is { } jwt ? BenchJwt.Subject(jwt) : null;
            if (did is null) return Results.Json(new { error = "InvalidToken", message = "Token could not be verified" }, statusCode: 400);
            var now = DateTimeOffset.UtcNow;
            var (access, refresh) = BenchJwt.Pair(did, now, now + pds.AccessLifetime);
            return Results.Json(new JsonObject
            {
                ["accessJwt"] = access, ["refreshJwt"] = refresh, ["did"] = did, ["handle"] = did[8..] + ".bench", ["active"] = true,
            });
        });
        app.MapPost("/xrpc/{nsid}", (string nsid) =>
        {
            pds.Count(nsid);
            return Results.Json(new { error = "InvalidRequest", message = $"No service configured for {nsid}" }, statusCode: 400);
        });
        await app.StartAsync();
        pds.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return pds;
    }

    private void Count(string nsid) => _calls.AddOrUpdate(nsid, 1, (_, n) => n + 1);

    private static string? Bearer(HttpContext context) =>
        context.Request.Headers.Authorization.ToString() is { } header && header.StartsWith("Bearer ", StringComparison.Ordinal) ? header[7..] : null;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
