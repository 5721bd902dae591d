using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Tests.FakePds;

/// <summary>
/// An in-process PDS on a real loopback HTTP port that behaves like the reference PDS on the wire
/// (@atproto/pds 0.4.217 as scripts/pds starts it, whose answers the real-PDS specs check): HS256 tokens with the same claims, rotation with a grace window that hands out
/// the same successor jti, 400 ExpiredToken / InvalidToken, the same error bodies, the didDoc, takedown,
/// deactivation; plus failure injection and call counters for the specs. It is also the accounts' PLC
/// directory (<c>GET /{did}</c>), did:web host (<c>/.well-known/did.json</c>) and handle resolver
/// (<c>com.atproto.identity.resolveHandle</c>, <c>/.well-known/atproto-did</c> by Host header), with controls
/// that make those answers lie.
/// </summary>
public sealed class FakePdsServer : IAsyncDisposable
{
    /// <summary>The server's service DID (its describeServer's <c>did</c>, its tokens' audience), as the reference PDS's.</summary>
    public const string ServiceDid = "did:web:localhost";
    private static readonly byte[] SharedSecret = Encoding.UTF8.GetBytes("fake-pds-secret");

    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly Dictionary<string, FakeAccount> _accounts = new();
    private readonly Dictionary<string, FakeRefreshToken> _refreshTokens = new();
    private readonly ConcurrentDictionary<string, int> _calls = new();
    private readonly ConcurrentDictionary<string, int> _rejections = new();
    private int _sharedUsed;
    private DateTimeOffset _sharedWindowEnd;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<FakeFailure>> _failures = new();
    private readonly ConcurrentQueue<byte[]> _createRecordBodies = new();
    private readonly ConcurrentQueue<byte[]> _importedRepos = new();
    private readonly ConcurrentDictionary<string, int> _refreshesInFlight = new();
    private readonly ConcurrentDictionary<string, int> _maxRefreshesInFlight = new();
    private readonly ConcurrentDictionary<string, (byte[] Body, string? ContentType, IReadOnlyDictionary<string, string>? Headers, int Status)> _answers = new();
    private readonly ConcurrentDictionary<string, Dictionary<string, string>> _requestHeaders = new();
    private readonly ConcurrentDictionary<string, string> _queries = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, string[]> _alsoKnownAs = new();
    private readonly Dictionary<string, string> _documentIds = new();
    private readonly HashSet<string> _hiddenDocuments = new();
    private readonly Dictionary<string, string> _handleTargets = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The name under which <c>GET /{did}</c> (the PLC directory's document) is counted and failed (<see cref="FailNext"/>).</summary>
    public const string DidDocumentCall = "plc:document";

    /// <summary>The name under which <c>GET /.well-known/atproto-did</c> is counted and failed (<see cref="FailNext"/>).</summary>
    public const string WellKnownDidCall = "well-known:atproto-did";

    private FakePdsServer(WebApplication app) => _app = app;

    /// <summary>The base URL, e.g. http://127.0.0.1:54321.</summary>
    public string Url { get; private set; } = "";

    /// <summary>Lifetime of newly issued access tokens.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Added to the <c>iat</c> claim of newly issued access tokens (a server whose clock is off, or that lies).</summary>
    public TimeSpan AccessTokenIssuedAtOffset { get; set; } = TimeSpan.Zero;

    /// <summary>Lifetime of newly issued refresh tokens.</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>How long a rotated refresh token stays usable.</summary>
    public TimeSpan RefreshGrace { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Extra time every refreshSession takes (widens the window in which a refresh is in flight).</summary>
    public TimeSpan RefreshLatency { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// When set, the <c>exp</c> claim of every refresh token issued from now on, whatever the server itself
    /// keeps (it still honours the token by its own records): a PDS that hands out useless tokens.
    /// </summary>
    public DateTimeOffset? IssuedRefreshTokenExpClaim { get; set; }

    /// <summary>The message of createSession's 401 AuthenticationRequired (a PDS may put anything there).</summary>
    public string InvalidCredentialsMessage { get; set; } = "Invalid identifier or password";

    /// <summary>Access tokens issued before this moment are refused with 400 ExpiredToken, whatever their exp says.</summary>
    public DateTimeOffset RejectAccessTokensIssuedBefore { get; set; } = DateTimeOffset.MinValue;

    /// <summary>The PDS endpoint the didDoc names; null names this server.</summary>
    public string? PdsEndpointInDidDoc { get; set; }

    /// <summary>When set, a DID whose session every createSession and createAccount answers (a server mixing up its accounts, or a hostile one).</summary>
    public string? SessionsAnsweredFor { get; set; }

    /// <summary>
    /// When set, the per-IP limit of the reference PDS: every call counts, every answer carries RateLimit-*
    /// headers (policy <c>N;w=SECONDS</c>), and calls beyond it get 429 RateLimitExceeded until the window ends.
    /// </summary>
    public int? SharedLimit { get; set; }

    /// <summary>The window of <see cref="SharedLimit"/>.</summary>
    public TimeSpan SharedWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Calls of other clients behind the same IP: they use up <paramref name="calls"/> of the current window.</summary>
    public void UseSharedBudget(int calls)
    {
        lock (_gate)
        {
            RollSharedWindowLocked(DateTimeOffset.UtcNow);
            _sharedUsed += calls;
        }
    }

    /// <summary>Starts a fake PDS on a free port of <paramref name="address"/> (a loopback address: 127.0.0.1 unless said).</summary>
    public static async Task<FakePdsServer> StartAsync(string address = "127.0.0.1")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{address}:0");
        builder.WebHost.ConfigureKestrel(k => k.AllowSynchronousIO = false);
        var app = builder.Build();
        var server = new FakePdsServer(app);
        app.Map("/xrpc/{nsid}", server.HandleAsync);
        app.MapGet("/.well-known/atproto-did", server.WellKnownDidAsync);
        app.MapGet("/.well-known/did.json", server.WebDidDocumentAsync);
        app.MapGet("/{did}", server.DidDocumentAsync);
        await app.StartAsync();
        server.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return server;
    }

    // ------------------------------------------------------------------ test controls

    /// <summary>Creates an account as createAccount would.</summary>
    public FakeAccount CreateAccount(string handle, string password, string? email = null)
    {
        Support.TestSecrets.Password(password);
        // 24 characters of base32 [a-z2-7], as a real did:plc.
        var did = "did:plc:" + string.Concat(RandomNumberGenerator.GetBytes(24).Select(b => "abcdefghijklmnopqrstuvwxyz234567"[b & 31]));
        return AddAccount(did, handle, password, email);
    }

    /// <summary>Creates the account whose DID is this server's own did:web (<c>did:web:localhost%3APORT</c>, one per server).</summary>
    public FakeAccount CreateWebAccount(string handle, string password, string? email = null) =>
        AddAccount(WebDid, handle, password, email);

    /// <summary>The did:web this server hosts at /.well-known/did.json.</summary>
    public string WebDid => "did:web:localhost%3A" + new Uri(Url).Port;

    private FakeAccount AddAccount(string did, string handle, string password, string? email)
    {
        var account = new FakeAccount(did, handle, email ?? handle.Split('.')[0] + "@example.com", password);
        lock (_gate) _accounts[did] = account;
        return account;
    }

    /// <summary>Serves an account of another fake (as a PDS behind an entryway does).</summary>
    public void Host(FakeAccount account)
    {
        lock (_gate) _accounts[account.Did] = account;
    }

    /// <summary>Makes createSession ask for a two-factor code for this account.</summary>
    public void RequireAuthFactor(string did, string code) => Account(did).AuthFactorCode = code;

    /// <summary>Takes the account down (all its refresh tokens are deleted) or restores it.</summary>
    public void Takedown(string did, bool applied = true)
    {
        lock (_gate)
        {
            Account(did).TakenDown = applied;
            if (applied) RevokeAllLocked(did);
        }
    }

    /// <summary>Deactivates the account or activates it again.</summary>
    public void Deactivate(string did, bool applied = true) => Account(did).Deactivated = applied;

    /// <summary>Deletes every refresh token of the account (as revoking its app password does).</summary>
    public void RevokeAllRefreshTokens(string did)
    {
        lock (_gate) RevokeAllLocked(did);
    }

    /// <summary>Gives the account a new handle; later session answers carry it.</summary>
    public void ChangeHandle(string did, string handle) => Account(did).Handle = handle;

    /// <summary>The DID document of the account lists these handles (as <c>at://HANDLE</c>) instead of its own.</summary>
    public void SetAlsoKnownAs(string did, params string[] handles)
    {
        lock (_gate) _alsoKnownAs[did] = handles;
    }

    /// <summary>The DID document of the account names <paramref name="id"/> as its id (a document of another DID).</summary>
    public void SetDocumentId(string did, string id)
    {
        lock (_gate) _documentIds[did] = id;
    }

    /// <summary>The directory no longer has the account's DID document (404, as the PLC for an unknown DID).</summary>
    public void HideDidDocument(string did)
    {
        lock (_gate) _hiddenDocuments.Add(did);
    }

    /// <summary>resolveHandle and /.well-known/atproto-did answer <paramref name="did"/> for <paramref name="handle"/> (hosted or not).</summary>
    public void ResolveHandleTo(string handle, string did)
    {
        lock (_gate) _handleTargets[handle] = did;
    }

    /// <summary>The next <paramref name="times"/> calls of <paramref name="nsid"/> fail this way.</summary>
    public void FailNext(string nsid, FakeFailure failure, int times = 1)
    {
        var queue = _failures.GetOrAdd(nsid, _ => new ConcurrentQueue<FakeFailure>());
        for (var i = 0; i < times; i++) queue.Enqueue(failure);
    }

    /// <summary>When the <see cref="FakeFailure.RateLimited"/> answer says its window resets (in whole seconds, rounded down).</summary>
    public TimeSpan RateLimitedResetAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Sends the answers held by <see cref="FakeFailure.HeldUntilReleased"/>, and those to come at once.</summary>
    public void ReleaseHeldAnswers() => _released.TrySetResult();

    /// <summary>
    /// From now on every call of <paramref name="nsid"/> is answered <paramref name="status"/> with these bytes, as
    /// <paramref name="contentType"/> (null: with no Content-Type at all) and with <paramref name="headers"/>, whoever asks.
    /// </summary>
    public void AnswerWith(string nsid, byte[] body, string? contentType, IReadOnlyDictionary<string, string>? headers = null, int status = 200) =>
        _answers[nsid] = (body, contentType, headers, status);

    /// <summary>The headers of the last request for <paramref name="nsid"/> (names in lower case), or null before the first.</summary>
    public IReadOnlyDictionary<string, string>? LastRequestHeaders(string nsid) => _requestHeaders.GetValueOrDefault(nsid);

    /// <summary>When the first byte of the last uploadBlob's body arrived.</summary>
    public DateTimeOffset? LastUploadFirstByteAt { get; private set; }

    /// <summary>The query string (with its '?', as sent) of the last call of a method.</summary>
    public string? LastQuery(string nsid) => _queries.GetValueOrDefault(nsid);

    /// <summary>The bodies of the createRecord calls that arrived, in order, as bytes.</summary>
    public IReadOnlyList<byte[]> CreateRecordBodies => _createRecordBodies.ToList();

    /// <summary>The bodies (CAR files) of the importRepo calls whose token was accepted, in order, as bytes.</summary>
    public IReadOnlyList<byte[]> ImportedRepos => _importedRepos.ToList();

    /// <summary>How many calls of <paramref name="nsid"/> arrived.</summary>
    public int CallCount(string nsid) => _calls.GetValueOrDefault(nsid);

    /// <summary>How many calls held without an answer (<see cref="FakeFailure.Hang"/>) their client gave up on.</summary>
    public int AbandonedCalls => Volatile.Read(ref _abandoned);

    private int _abandoned;

    /// <summary>How many calls arrived in all (XRPC methods, DID documents, well-known files).</summary>
    public int CallsInAll => _calls.Values.Sum();

    /// <summary>How many answers carried this error name (e.g. ExpiredToken).</summary>
    public int Rejections(string error) => _rejections.GetValueOrDefault(error);

    /// <summary>The most refreshSession calls of one account in flight at the same time.</summary>
    public int MaxConcurrentRefreshes(string did) => _maxRefreshesInFlight.GetValueOrDefault(did);

    /// <summary>Whether a refresh token (by its jti) is still stored and usable.</summary>
    public bool IsRefreshTokenLive(string refreshJwt)
    {
        var id = JwtClaims.TryRead(refreshJwt, out _)?.TokenId;
        lock (_gate) return id is not null && _refreshTokens.TryGetValue(id, out var t) && t.ExpiresAt > DateTimeOffset.UtcNow;
    }

    /// <summary>The jti of the successor the server handed out for a refresh token (by its jti), once it was used.</summary>
    public string? SuccessorTokenId(string refreshJwt)
    {
        var id = JwtClaims.TryRead(refreshJwt, out _)?.TokenId;
        lock (_gate) return id is not null && _refreshTokens.TryGetValue(id, out var t) ? t.NextId : null;
    }

    /// <summary>Issues a pair for the account without createSession (as make-account does).</summary>
    public (string AccessJwt, string RefreshJwt) IssuePair(string did)
    {
        lock (_gate) return IssueLocked(did, NewRefreshLocked(did));
    }

    // ------------------------------------------------------------------ the wire

    private async Task HandleAsync(HttpContext context)
    {
        var nsid = (string)context.Request.RouteValues["nsid"]!;
        _calls.AddOrUpdate(nsid, 1, (_, n) => n + 1);
        _requestHeaders[nsid] = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        _queries[nsid] = context.Request.QueryString.Value ?? "";
        if (SharedLimit is { } limit && !await WithinSharedLimitAsync(context, limit)) return;
        if (_failures.TryGetValue(nsid, out var queue) && queue.TryDequeue(out var failure) && await FailAsync(context, failure)) return;
        if (_answers.TryGetValue(nsid, out var answer))
        {
            context.Response.StatusCode = answer.Status;
            if (answer.ContentType is not null) context.Response.ContentType = answer.ContentType;
            foreach (var (name, value) in answer.Headers ?? new Dictionary<string, string>()) context.Response.Headers[name] = value;
            context.Response.ContentLength = answer.Body.Length;
            await context.Response.Body.WriteAsync(answer.Body);
            return;
        }
        var (status, body) = nsid switch
        {
            "com.atproto.server.createSession" => CreateSession(await ReadJsonAsync(context)),
            "com.atproto.server.createAccount" => CreateAccountCall(await ReadJsonAsync(context)),
            "com.atproto.server.refreshSession" => await RefreshSessionAsync(context),
            "com.atproto.server.deleteSession" => DeleteSession(context),
            // As the reference PDS: after a takedown getSession no longer finds the account, writes say AccountTakedown.
            "com.atproto.server.getSession" => WithAccess(context, account => account.TakenDown
                ? Error(400, "InvalidRequest", $"Could not find user info for account: {account.Did}")
                : (200, SessionBody(account, null))),
            // As the reference PDS: the token is checked before the body is read; the answer names the size it read.
            "com.atproto.repo.uploadBlob" => await UploadBlobAsync(context),
            "com.atproto.repo.importRepo" => await ImportRepoAsync(context),
            "com.atproto.identity.resolveHandle" => ResolveHandle(context.Request.Query["handle"].ToString()),
            "com.atproto.repo.createRecord" => await CreateRecordAsync(context),
            "com.atproto.server.describeServer" => (200, new JsonObject { ["did"] = ServiceDid, ["availableUserDomains"] = new JsonArray(".test") }),
            // As the reference PDS: any DID as audience, signed for the account; its claims name what was asked.
            "com.atproto.server.getServiceAuth" => WithAccess(context, account => context.Request.Query["aud"].ToString() is { } aud && aud.StartsWith("did:", StringComparison.Ordinal)
                ? (200, new JsonObject
                {
                    ["token"] = Mint("JWT", new JsonObject
                    {
                        ["iss"] = account.Did, ["aud"] = aud, ["lxm"] = context.Request.Query["lxm"].ToString(),
                        ["exp"] = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds(),
                    }),
                })
                : Error(400, "InvalidRequest", "Error: Params must have the property \"aud\"")),
            _ => Error(400, "InvalidRequest", $"No service configured for {nsid}"),
        };
        context.Response.StatusCode = status;
        if (body?["error"]?.GetValue<string>() is { } error) _rejections.AddOrUpdate(error, 1, (_, n) => n + 1);
        if (body is not null) await context.Response.WriteAsJsonAsync(body);
    }

    // ------------------------------------------------------------------ identity: PLC directory, did:web, handles

    private async Task DidDocumentAsync(HttpContext context)
    {
        var did = (string)context.Request.RouteValues["did"]!;
        if (!did.StartsWith("did:", StringComparison.Ordinal))
        {
            context.Response.StatusCode = 404;
            return;
        }
        if (await FailedAsync(context, DidDocumentCall)) return;
        await WriteDidDocumentAsync(context, did);
    }

    private async Task WebDidDocumentAsync(HttpContext context)
    {
        if (await FailedAsync(context, DidDocumentCall)) return;
        await WriteDidDocumentAsync(context, WebDid);
    }

    private async Task WriteDidDocumentAsync(HttpContext context, string did)
    {
        JsonObject? document = null;
        lock (_gate)
        {
            if (_accounts.TryGetValue(did, out var account) && !_hiddenDocuments.Contains(did)) document = DidDocumentLocked(account);
        }
        if (document is null)
        {
            context.Response.StatusCode = 404;
            await context.Response.WriteAsJsonAsync(new { message = $"DID not registered: {did}" });
            return;
        }
        await context.Response.WriteAsJsonAsync(document);
    }

    private (int, JsonNode?) ResolveHandle(string handle)
    {
        if (handle.Length == 0) return Error(400, "InvalidRequest", "Error: Params must have the property \"handle\"");
        var did = HandleTarget(handle);
        return did is null ? Error(400, "InvalidRequest", "Unable to resolve handle") : (200, new JsonObject { ["did"] = did });
    }

    /// <summary>As a PDS: the DID of the account whose handle is the request's host name, as plain text.</summary>
    private async Task WellKnownDidAsync(HttpContext context)
    {
        if (await FailedAsync(context, WellKnownDidCall)) return;
        var did = HandleTarget(context.Request.Host.Host);
        context.Response.ContentType = "text/plain";
        if (did is null)
        {
            context.Response.StatusCode = 404;
            await context.Response.WriteAsync("User not found");
            return;
        }
        await context.Response.WriteAsync(did);
    }

    private string? HandleTarget(string handle)
    {
        lock (_gate)
        {
            if (_handleTargets.TryGetValue(handle, out var target)) return target;
            return _accounts.Values.FirstOrDefault(a => string.Equals(a.Handle, handle, StringComparison.OrdinalIgnoreCase))?.Did;
        }
    }

    /// <summary>Counts a call of <paramref name="name"/> and answers with its next injected failure, if any.</summary>
    private async Task<bool> FailedAsync(HttpContext context, string name)
    {
        _calls.AddOrUpdate(name, 1, (_, n) => n + 1);
        return _failures.TryGetValue(name, out var queue) && queue.TryDequeue(out var failure) && await FailAsync(context, failure);
    }

    private async Task<bool> WithinSharedLimitAsync(HttpContext context, int limit)
    {
        int used;
        DateTimeOffset reset;
        lock (_gate)
        {
            RollSharedWindowLocked(DateTimeOffset.UtcNow);
            used = ++_sharedUsed;
            reset = _sharedWindowEnd;
        }
        context.Response.Headers["RateLimit-Limit"] = limit.ToString();
        context.Response.Headers["RateLimit-Remaining"] = Math.Max(0, limit - used).ToString();
        context.Response.Headers["RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString();
        context.Response.Headers["RateLimit-Policy"] = $"{limit};w={(int)SharedWindow.TotalSeconds}";
        if (used <= limit) return true;
        _rejections.AddOrUpdate("RateLimitExceeded", 1, (_, n) => n + 1);
        context.Response.StatusCode = 429;
        await context.Response.WriteAsJsonAsync(new { error = "RateLimitExceeded", message = "Rate Limit Exceeded" });
        return false;
    }

    private void RollSharedWindowLocked(DateTimeOffset now)
    {
        if (now < _sharedWindowEnd) return;
        // Windows are aligned to whole seconds, as the RateLimit-Reset header is.
        _sharedWindowEnd = DateTimeOffset.FromUnixTimeSeconds((now + SharedWindow).ToUnixTimeSeconds());
        _sharedUsed = 0;
    }

    /// <summary>The body of <see cref="FakeFailure.LongChunkedError"/>: an XRPC error whose message is about 100 KB, then <paramref name="authorization"/>.</summary>
    private static byte[] LongErrorBody(string authorization) => System.Text.Encoding.UTF8.GetBytes(
        $$"""{"error":"InvalidRequest","message":"{{string.Concat(Enumerable.Range(0, 10_000).Select(i => $"{i % 10}23456789"))}}","authorization":"{{authorization}}"}""");

    /// <summary>The body of <see cref="FakeFailure.TrickleBody"/>: a JSON array of ten strings, sent a tenth at a time.</summary>
    public static readonly byte[] TrickleBody = System.Text.Encoding.UTF8.GetBytes(
        "[" + string.Join(",", Enumerable.Range(0, 10).Select(i => $"\"{new string('x', 99)}{i}\"")) + "]");

    /// <summary>Answers with <paramref name="failure"/>; false when there is none to answer and the call goes on as usual.</summary>
    private async Task<bool> FailAsync(HttpContext context, FakeFailure failure)
    {
        switch (failure)
        {
            case FakeFailure.ServerError500:
                context.Response.StatusCode = 500;
                await context.Response.WriteAsJsonAsync(new { error = "InternalServerError", message = "Internal Server Error" });
                break;
            case FakeFailure.Html502:
                context.Response.StatusCode = 502;
                context.Response.ContentType = "text/html";
                await context.Response.WriteAsync("<html><body>Bad Gateway</body></html>");
                break;
            case FakeFailure.TruncatedJson:
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{\"accessJwt\":\"eyJ0eXAiOiJhdCtqd3QiLCJhbGciOi");
                break;
            case FakeFailure.Hang:
                try
                {
                    await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token).Token);
                }
                catch (OperationCanceledException)
                {
                    // the client gave up or the server stops
                    if (context.RequestAborted.IsCancellationRequested) Interlocked.Increment(ref _abandoned);
                }
                break;
            case FakeFailure.DropConnection:
                context.Abort();
                break;
            case FakeFailure.StallMidBody or FakeFailure.StallMidErrorBody:
                if (failure == FakeFailure.StallMidErrorBody) context.Response.StatusCode = 400;
                context.Response.ContentType = "application/json";
                context.Response.ContentLength = 1_000;
                await context.Response.WriteAsync("{\"handle\":\"stalled.test\",");
                await context.Response.Body.FlushAsync();
                await FailAsync(context, FakeFailure.Hang);
                break;
            case FakeFailure.LongChunkedError or FakeFailure.LongError:
                var longError = LongErrorBody(context.Request.Headers.Authorization.ToString());
                context.Response.StatusCode = 400;
                context.Response.ContentType = "application/json";
                if (failure == FakeFailure.LongError) context.Response.ContentLength = longError.Length;
                foreach (var part in longError.Chunk(8 * 1024))
                {
                    await context.Response.Body.WriteAsync(part);
                    await context.Response.Body.FlushAsync();
                }
                break;
            case FakeFailure.TrickleBody:
                context.Response.ContentType = "application/json";
                context.Response.ContentLength = TrickleBody.Length;
                foreach (var part in TrickleBody.Chunk((TrickleBody.Length + 9) / 10))
                {
                    await Task.Delay(400, context.RequestAborted);
                    await context.Response.Body.WriteAsync(part, context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }
                break;
            case FakeFailure.TrickleUntilReleased:
                context.Response.ContentType = "application/json";
                while (!_released.Task.IsCompleted)
                {
                    await context.Response.Body.WriteAsync(" "u8.ToArray(), context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                    await Task.WhenAny(_released.Task, Task.Delay(400, context.RequestAborted));
                }
                await context.Response.Body.WriteAsync(TrickleBody, context.RequestAborted);
                break;
            case FakeFailure.HeldUntilReleased:
                await _released.Task.WaitAsync(context.RequestAborted);
                return false;
            case FakeFailure.RateLimited:
                context.Response.StatusCode = 429;
                context.Response.Headers["RateLimit-Limit"] = "30";
                context.Response.Headers["RateLimit-Remaining"] = "0";
                context.Response.Headers["RateLimit-Reset"] = DateTimeOffset.UtcNow.Add(RateLimitedResetAfter).ToUnixTimeSeconds().ToString();
                context.Response.Headers["RateLimit-Policy"] = "30;w=300";
                await context.Response.WriteAsJsonAsync(new { error = "RateLimitExceeded", message = "Rate Limit Exceeded" });
                break;
            case FakeFailure.EchoAuthorization:
                var authorization = context.Request.Headers.Authorization.ToString();
                context.Response.StatusCode = 400;
                await context.Response.WriteAsJsonAsync(new { error = "InvalidRequest", message = "Unexpected request with " + authorization, request = new { authorization } });
                break;
            case FakeFailure.EchoAuthorizationGzipped:
                var echoed = context.Request.Headers.Authorization.ToString();
                var json = JsonSerializer.SerializeToUtf8Bytes(new { error = "InvalidRequest", message = "Unexpected request with " + echoed, request = new { authorization = echoed } });
                using (var gzipped = new MemoryStream())
                {
                    await using (var gzip = new System.IO.Compression.GZipStream(gzipped, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
                        await gzip.WriteAsync(json);
                    context.Response.StatusCode = 400;
                    context.Response.ContentType = "application/json";
                    context.Response.Headers.ContentEncoding = "gzip";
                    context.Response.Headers.ETag = "\"" + echoed + "\"";
                    context.Response.ContentLength = gzipped.Length;
                    await context.Response.Body.WriteAsync(gzipped.ToArray());
                }
                break;
        }
        return true;
    }

    private (int, JsonNode?) CreateSession(JsonObject? body)
    {
        // As the reference PDS: the identifier (handle or email) is lower-cased before it is looked up.
        var identifier = body?["identifier"]?.GetValue<string>()?.ToLowerInvariant();
        var password = body?["password"]?.GetValue<string>();
        if (password is null) return Error(400, "InvalidRequest", "Missing required key \"password\" at $");
        lock (_gate)
        {
            var account = _accounts.Values.FirstOrDefault(a => a.Handle.ToLowerInvariant() == identifier || a.Email.ToLowerInvariant() == identifier || a.Did == identifier);
            if (account is null || account.Password != password) return Error(401, "AuthenticationRequired", InvalidCredentialsMessage);
            if (account.TakenDown) return Error(401, "AccountTakedown", "Account has been taken down");
            // Modelled on the lexicon of com.atproto.server.createSession (authFactorToken, AuthFactorTokenRequired):
            // the reference PDS 0.4.217 has no two-factor branch in createSession; the error exists only in the lexicon.
            if (account.AuthFactorCode is { } code && body?["authFactorToken"]?.GetValue<string>() != code)
                return Error(401, "AuthFactorTokenRequired", "A sign in code has been sent to your email address");
            if (SessionsAnsweredFor is { } other) account = _accounts[other];
            return (200, SessionBody(account, IssueLocked(account.Did, NewRefreshLocked(account.Did))));
        }
    }

    private (int, JsonNode?) CreateAccountCall(JsonObject? body)
    {
        var handle = body?["handle"]?.GetValue<string>() ?? "";
        var email = body?["email"]?.GetValue<string>();
        var password = body?["password"]?.GetValue<string>() ?? "";
        if (!handle.EndsWith(".test", StringComparison.Ordinal)) return Error(400, "UnsupportedDomain", "Not a supported handle domain");
        if (email is null) return Error(400, "InvalidRequest", "Email is required");
        lock (_gate)
        {
            if (_accounts.Values.Any(a => a.Handle == handle)) return Error(400, "InvalidRequest", $"Handle already taken: {handle}");
        }
        var account = CreateAccount(handle, password, email);
        lock (_gate)
        {
            if (SessionsAnsweredFor is { } other) account = _accounts[other];
            return (200, SessionBody(account, IssueLocked(account.Did, NewRefreshLocked(account.Did))));
        }
    }

    private async Task<(int, JsonNode?)> RefreshSessionAsync(HttpContext context)
    {
        var (claims, error) = Verify(context, "refresh+jwt");
        if (claims is null) return error;
        var did = claims.Subject!;
        var inFlight = _refreshesInFlight.AddOrUpdate(did, 1, (_, n) => n + 1);
        _maxRefreshesInFlight.AddOrUpdate(did, inFlight, (_, max) => Math.Max(max, inFlight));
        try
        {
            if (RefreshLatency > TimeSpan.Zero) await Task.Delay(RefreshLatency);
            lock (_gate)
            {
                // As the reference PDS: a validly signed refresh token of an account it does not host.
                if (!_accounts.TryGetValue(did, out var account)) return Error(400, "InvalidRequest", $"Could not find user info for account: {did}");
                if (account.TakenDown) return Error(401, "AccountTakedown", "Account has been taken down");
                var now = DateTimeOffset.UtcNow;
                if (claims.TokenId is not { } id || !_refreshTokens.TryGetValue(id, out var stored) || stored.ExpiresAt <= now)
                    return Error(400, "ExpiredToken", "Token has been revoked");
                if (stored.NextId is null)
                {
                    stored.NextId = NewRefreshLocked(did);
                    var graceEnd = now + RefreshGrace;
                    if (graceEnd < stored.ExpiresAt) stored.ExpiresAt = graceEnd;
                }
                else if (!_refreshTokens.ContainsKey(stored.NextId))
                {
                    _refreshTokens[stored.NextId] = new FakeRefreshToken(did, now + RefreshTokenLifetime);
                }
                return (200, SessionBody(account, IssueLocked(did, stored.NextId)));
            }
        }
        finally
        {
            _refreshesInFlight.AddOrUpdate(did, 0, (_, n) => n - 1);
        }
    }

    private (int, JsonNode?) DeleteSession(HttpContext context)
    {
        var (claims, error) = Verify(context, "refresh+jwt", allowExpired: true);
        if (claims is null) return error;
        lock (_gate)
        {
            if (claims.TokenId is { } id) _refreshTokens.Remove(id);
        }
        return (200, null);
    }

    /// <summary>createRecord: its body is kept (<see cref="CreateRecordBodies"/>), the record itself is not.</summary>
    private async Task<(int, JsonNode?)> CreateRecordAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        _createRecordBodies.Enqueue(buffer.ToArray());
        return WithAccess(context, account => account.Deactivated
            ? Error(401, "AccountDeactivated", "Account is deactivated")
            : (200, new JsonObject { ["uri"] = $"at://{account.Did}/app.bsky.feed.post/{Guid.NewGuid():N}", ["cid"] = "bafy", ["validationStatus"] = "valid" }));
    }

    private async Task<(int, JsonNode?)> UploadBlobAsync(HttpContext context)
    {
        var checkedToken = WithAccess(context, _ => (200, null));
        if (checkedToken.Item1 != 200) return checkedToken;
        using var buffer = new MemoryStream();
        var block = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(block)) > 0)
        {
            if (buffer.Length == 0) LastUploadFirstByteAt = DateTimeOffset.UtcNow;
            buffer.Write(block, 0, read);
        }
        return (200, new JsonObject
        {
            ["blob"] = new JsonObject
            {
                ["$type"] = "blob", ["ref"] = new JsonObject { ["$link"] = Convert.ToHexString(SHA256.HashData(buffer.ToArray())).ToLowerInvariant() },
                ["mimeType"] = context.Request.ContentType ?? "", ["size"] = buffer.Length,
            },
        });
    }

    /// <summary>importRepo: as the reference PDS, the token is checked first; its body is kept, and the answer is an empty 200.</summary>
    private async Task<(int, JsonNode?)> ImportRepoAsync(HttpContext context)
    {
        var checkedToken = WithAccess(context, _ => (200, null));
        if (checkedToken.Item1 != 200) return checkedToken;
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        _importedRepos.Enqueue(buffer.ToArray());
        return (200, null);
    }

    private (int, JsonNode?) WithAccess(HttpContext context, Func<FakeAccount, (int, JsonNode?)> then)
    {
        var (claims, error) = Verify(context, "at+jwt");
        if (claims is null) return error;
        FakeAccount? account;
        lock (_gate) _accounts.TryGetValue(claims.Subject!, out account);
        if (account is null) return Error(400, "InvalidToken", "Token could not be verified");
        if (account.TakenDown && context.Request.Method == "POST") return Error(401, "AccountTakedown", "Account has been taken down");
        return then(account);
    }

    /// <summary>Checks the Bearer token as the PDS does, with its error answers.</summary>
    private (JwtClaims?, (int, JsonNode?)) Verify(HttpContext context, string type, bool allowExpired = false)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.Length == 0) return (null, Error(401, "AuthMissing", "Authentication Required"));
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal)) return (null, Error(400, "InvalidToken", "Unexpected authorization type"));
        var jwt = header["Bearer ".Length..].Trim();
        var parts = jwt.Split('.');
        var claims = JwtClaims.TryRead(jwt, out _);
        if (claims is null || parts.Length != 3 || parts[2] != Sign(parts[0] + "." + parts[1]) || claims.Audience != ServiceDid)
            return (null, Error(400, "InvalidToken", "Token could not be verified"));
        if (claims.Type != type) return (null, Error(400, "InvalidToken", "Invalid token type"));
        var early = type == "at+jwt" && claims.IssuedAt < RejectAccessTokensIssuedBefore;
        if (!allowExpired && (claims.ExpiresAt <= DateTimeOffset.UtcNow || early)) return (null, Error(400, "ExpiredToken", "Token has expired"));
        return (claims, default);
    }

    // ------------------------------------------------------------------ tokens and bodies

    private string NewRefreshLocked(string did)
    {
        var id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=');
        _refreshTokens[id] = new FakeRefreshToken(did, DateTimeOffset.UtcNow + RefreshTokenLifetime);
        return id;
    }

    private (string AccessJwt, string RefreshJwt) IssueLocked(string did, string refreshId)
    {
        var now = DateTimeOffset.UtcNow;
        var access = new JsonObject
        {
            ["scope"] = "com.atproto.access", ["aud"] = ServiceDid, ["sub"] = did,
            ["iat"] = (now + AccessTokenIssuedAtOffset).ToUnixTimeSeconds(), ["exp"] = (now + AccessTokenLifetime).ToUnixTimeSeconds(),
        };
        var refresh = new JsonObject
        {
            ["scope"] = "com.atproto.refresh", ["aud"] = ServiceDid, ["sub"] = did, ["jti"] = refreshId,
            ["iat"] = Math.Min(now.ToUnixTimeSeconds(), (IssuedRefreshTokenExpClaim ?? now).ToUnixTimeSeconds()),
            ["exp"] = (IssuedRefreshTokenExpClaim ?? _refreshTokens[refreshId].ExpiresAt).ToUnixTimeSeconds(),
        };
        return (Mint("at+jwt", access), Mint("refresh+jwt", refresh));
    }

    private JsonObject SessionBody(FakeAccount account, (string AccessJwt, string RefreshJwt)? pair)
    {
        var body = new JsonObject();
        if (pair is { } p)
        {
            body["accessJwt"] = p.AccessJwt;
            body["refreshJwt"] = p.RefreshJwt;
        }
        body["did"] = account.Did;
        body["handle"] = account.Handle;
        body["email"] = account.Email;
        body["emailConfirmed"] = false;
        if (account.AuthFactorCode is not null) body["emailAuthFactor"] = true; // sign-in codes by e-mail
        lock (_gate) body["didDoc"] = DidDocumentLocked(account);
        body["active"] = !account.Deactivated;
        if (account.Deactivated) body["status"] = "deactivated";
        return body;
    }

    /// <summary>The account's DID document, as the session answers and the directory serve it (with any test overrides).</summary>
    private JsonObject DidDocumentLocked(FakeAccount account) => new()
    {
        ["@context"] = new JsonArray("https://www.w3.org/ns/did/v1"),
        ["id"] = _documentIds.GetValueOrDefault(account.Did, account.Did),
        ["alsoKnownAs"] = new JsonArray((_alsoKnownAs.TryGetValue(account.Did, out var handles) ? handles : [account.Handle])
            .Select(h => (JsonNode?)JsonValue.Create($"at://{h}")).ToArray()),
        ["service"] = new JsonArray(new JsonObject
        {
            ["id"] = "#atproto_pds",
            ["type"] = "AtprotoPersonalDataServer",
            ["serviceEndpoint"] = PdsEndpointInDidDoc ?? Url,
        }),
    };

    private string Mint(string typ, JsonObject claims)
    {
        var input = JwtClaims.EncodeSegment(new JsonObject { ["typ"] = typ, ["alg"] = "HS256" }.ToJsonString()) + "." + JwtClaims.EncodeSegment(claims.ToJsonString());
        return input + "." + Sign(input);
    }

    private string Sign(string input) => JwtClaims.EncodeSegment(HMACSHA256.HashData(SigningSecret, Encoding.UTF8.GetBytes(input)));

    /// <summary>
    /// The HS256 key of this server's tokens: one shared by every fake (as a PDS and its entryway share theirs)
    /// unless a spec gives a server its own (a stranger's tokens are then worthless elsewhere).
    /// </summary>
    public byte[] SigningSecret { get; set; } = SharedSecret;

    private static (int, JsonNode?) Error(int status, string error, string message) =>
        (status, new JsonObject { ["error"] = error, ["message"] = message });

    private static async Task<JsonObject?> ReadJsonAsync(HttpContext context)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<JsonObject>(context.Request.Body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private FakeAccount Account(string did)
    {
        lock (_gate) return _accounts[did];
    }

    private void RevokeAllLocked(string did)
    {
        foreach (var id in _refreshTokens.Where(t => t.Value.Did == did).Select(t => t.Key).ToList()) _refreshTokens.Remove(id);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
