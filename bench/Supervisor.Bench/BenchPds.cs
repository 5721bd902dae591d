using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Supervisor.Bench;

/// <summary>
/// A minimal local PDS for benchmarks, on a loopback port: getSession answers who the bearer is,
/// refreshSession rotates the pair (access tokens live <see cref="AccessLifetime"/>), createSession logs any
/// identifier in (any password), uploadBlob reads the whole body (slowly while <see cref="SlowUploads"/>) and
/// answers a blob ref, sync.getRepo answers <see cref="RepoBytes"/> bytes, and every call is counted. It checks
/// no signature: it stands for the server's cost, not its rules.
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

    /// <summary>While set, uploadBlob reads 16 KiB at a time with <see cref="SlowReadPause"/> between reads.</summary>
    public bool SlowUploads { get; set; }

    /// <summary>The pause between two reads of a slow upload.</summary>
    public TimeSpan SlowReadPause { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The size of the answer of com.atproto.sync.getRepo.</summary>
    public long RepoBytes { get; set; } = 30_000_000;

    /// <summary>Upload body bytes read so far, over all uploads.</summary>
    public long UploadBytesRead => Interlocked.Read(ref _uploadBytesRead);

    /// <summary>getRepo answer bytes written so far (handed to Kestrel), over all answers.</summary>
    public long RepoBytesWritten => Interlocked.Read(ref _repoBytesWritten);

    private long _uploadBytesRead;
    private long _repoBytesWritten;
    private static readonly byte[] RepoChunk = System.Security.Cryptography.RandomNumberGenerator.GetBytes(64 * 1024);

    /// <summary>
    /// Starts the server; with <paramref name="requestBuffer"/>, Kestrel reads at most that many bytes of a request
    /// ahead of the handler (1 MiB by default), so that a slow upload waits in the sender rather than here.
    /// </summary>
    public static async Task<BenchPds> StartAsync(long? requestBuffer = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        if (requestBuffer is { } size)
        {
            // On plain sockets the transport's read buffer is the one that counts (Limits.MaxRequestBufferSize serves adapters).
            builder.WebHost.UseSockets(o => o.MaxReadBufferSize = size);
            builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBufferSize = size);
        }
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
        app.MapPost("/xrpc/com.atproto.server.createSession", async (HttpContext context) =>
        {
            pds.Count("com.atproto.server.createSession");
            var body = await JsonNode.ParseAsync(context.Request.Body);
            var identifier = body?["identifier"]?.GetValue<string>() ?? "";
            var did = Accounts.DidOf(identifier);
            var now = DateTimeOffset.UtcNow;
            var (access, refresh) = BenchJwt.Pair(did, now, now + pds.AccessLifetime);
            return Results.Json(new JsonObject
            {
                ["accessJwt"] = access, ["refreshJwt"] = refresh, ["did"] = did, ["handle"] = identifier, ["active"] = true,
            });
        });
        app.MapPost("/xrpc/com.atproto.repo.uploadBlob", async (HttpContext context) =>
        {
            pds.Count("com.atproto.repo.uploadBlob");
            if (Bearer(context) is not { } jwt || BenchJwt.Subject(jwt) is null)
                return Results.Json(new { error = "AuthMissing", message = "Authentication Required" }, statusCode: 401);
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
            long size = 0;
            try
            {
                while (true)
                {
                    var slow = pds.SlowUploads;
                    var read = await context.Request.Body.ReadAsync(buffer.AsMemory(0, slow ? 16 * 1024 : buffer.Length));
                    if (read == 0) break;
                    size += read;
                    Interlocked.Add(ref pds._uploadBytesRead, read);
                    if (slow) await Task.Delay(pds.SlowReadPause);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
            return Results.Json(new JsonObject
            {
                ["blob"] = new JsonObject
                {
                    ["$type"] = "blob", ["ref"] = new JsonObject { ["$link"] = "bafkreibenchbenchbenchbenchbenchbenchbenchbenchbenchbenchbe" },
                    ["mimeType"] = context.Request.ContentType ?? "application/octet-stream", ["size"] = size,
                },
            });
        });
        app.MapGet("/xrpc/com.atproto.sync.getRepo", async (HttpContext context) =>
        {
            pds.Count("com.atproto.sync.getRepo");
            var total = pds.RepoBytes;
            context.Response.ContentType = "application/vnd.ipld.car";
            context.Response.ContentLength = total;
            for (long sent = 0; sent < total;)
            {
                var n = (int)Math.Min(RepoChunk.Length, total - sent);
                await context.Response.Body.WriteAsync(RepoChunk.AsMemory(0, n), context.RequestAborted);
                sent += n;
                Interlocked.Add(ref pds._repoBytesWritten, n);
            }
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
