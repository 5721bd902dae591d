using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Akka.Actor;
using Akka.Hosting;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Keys;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tracing;
using Supervisor.Host.Proxy;
using static Supervisor.Actors.Keys.KeyCommands;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Host.Http;

/// <summary>
/// <c>/xrpc/{nsid}</c> at the host's root: the supervisor answers as the account's PDS would, for a client that
/// holds an account key (README, "The supervisor as a PDS"). <c>createSession</c> with the account's DID or handle
/// and the key as password opens a key session with tokens of the supervisor's own (<see cref="SessionJwt"/>),
/// <c>refreshSession</c> rotates it, <c>deleteSession</c> ends it, <c>getSession</c> answers the account's session
/// (without the DID document, whose PDS endpoint would lead the client around the supervisor); every other method
/// passes through to the PDS with the account's token. The key itself is also accepted as a bearer. Errors are
/// the PDS's: 401 AuthMissing, 400 InvalidToken / ExpiredToken.
/// </summary>
public static class PdsApi
{
    /// <summary>The largest createSession body read (an identifier, a key and a code fit in far less).</summary>
    public const int LoginBodyLimit = 16 * 1024;

    /// <summary>How long an account's e-mail, as its PDS's getSession gave it, serves the key sessions' logins by e-mail.</summary>
    public static readonly TimeSpan EmailKeptFor = TimeSpan.FromMinutes(1);

    /// <summary>How long a lookup of an account's e-mail that failed (or found none) is kept before the PDS is asked again.</summary>
    public static readonly TimeSpan EmailMissKeptFor = TimeSpan.FromSeconds(10);

    /// <summary>The most accounts whose e-mail is kept.</summary>
    private const int MaxEmailsKept = 100_000;

    /// <summary>Maps <c>/xrpc/{nsid}</c>.</summary>
    public static void MapPdsApi(this WebApplication app, XrpcPassThrough proxy, SessionJwt jwt, AccountKeyIndex index, TimeSpan askTimeout, ActorSystemEnd end)
    {
        // From the host's services, not the request's (which would make a scope for every request).
        var supervisor = app.Services.GetRequiredService<IRequiredActor<AccountsSupervisor>>();
        var keys = app.Services.GetRequiredService<IRequiredActor<AccountKeys>>();
        var emails = new SharedLookups<string?>(MaxEmailsKept);
        app.Map("/xrpc/{nsid}", async (HttpContext context, string nsid) =>
        {
            // Right after a start the keys may still be read from the journal.
            await index.WaitLoadedAsync(TimeSpan.FromSeconds(30), context.RequestAborted);
            var session = new KeySessions(context, jwt, index, supervisor.ActorRef, keys.ActorRef, proxy, emails, askTimeout, end.Token);
            // Names compared ignoring case, as the PDS routes them.
            IResult? answer = Is(nsid, "com.atproto.server.createSession") ? await session.CreateAsync()
                : Is(nsid, "com.atproto.server.refreshSession") ? await session.RefreshAsync()
                : Is(nsid, "com.atproto.server.deleteSession") ? await session.DeleteAsync()
                : null;
            if (answer is not null)
            {
                await answer.ExecuteAsync(context);
                return;
            }
            if (session.AuthenticateAccess() is not { } key)
            {
                await session.Refusal!.ExecuteAsync(context);
                return;
            }
            if (Is(nsid, "com.atproto.server.getSession"))
            {
                // A call to the PDS as well: counted with the account's requests through the pass-through.
                if ((proxy.EnterInFlight(key.Did) ?? await proxy.WaitInFlightAsync(key.Did, context)) is not { } counted)
                {
                    await proxy.RefuseInFlightAsync(context);
                    return;
                }
                try
                {
                    await (await session.GetAsync(key)).ExecuteAsync(context);
                }
                finally
                {
                    proxy.LeaveInFlight(counted);
                }
                return;
            }
            await proxy.ForwardAsync(context, supervisor.ActorRef, key.Did, nsid, new Caller(CallerKind.AccountKey, key));
        });
    }

    /// <summary>Whether <paramref name="nsid"/> names <paramref name="method"/> (ignoring case, as the PDS's routes do).</summary>
    private static bool Is(string nsid, string method) => string.Equals(nsid, method, StringComparison.OrdinalIgnoreCase);

    /// <summary>How long one attempt of a question to the keys' owner that may be asked again waits (see KeySessions).</summary>
    private static readonly TimeSpan KeysAttempt = TimeSpan.FromSeconds(10);

    /// <summary>The session methods of one request.</summary>
    private sealed class KeySessions(
        HttpContext context, SessionJwt jwt, AccountKeyIndex index, IActorRef accounts, IActorRef keys, XrpcPassThrough proxy, SharedLookups<string?> emails,
        TimeSpan askTimeout, CancellationToken ended)
    {
        /// <summary>The fields of a PDS's session answers that a key session's answers take from the account's getSession.</summary>
        private static readonly string[] EmailFields = ["email", "emailConfirmed", "emailAuthFactor"];

        /// <summary>How long a key session's answer waits for them.</summary>
        private static readonly TimeSpan EmailLookupLimit = TimeSpan.FromSeconds(5);

        private DateTimeOffset Now { get; } = DateTimeOffset.UtcNow;

        /// <summary>Why <see cref="AuthenticateAccess"/> refused, as the PDS would answer.</summary>
        public IResult? Refusal { get; private set; }

        /// <summary>The key behind the request's bearer (the key itself, or an access token of one of its sessions), or null.</summary>
        public AccountKeyInfo? AuthenticateAccess()
        {
            if (Bearer() is not { } token) return null;
            if (index.Authenticate(token, Now) is { } direct) return Used(direct);
            if (Verified(token, "at+jwt") is not { } claims) return null;
            if (index.Session(claims.Sid) is not { } session || index.Key(session.KeyId) is not { } key || !key.IsUsable(Now) || key.Did != claims.Did)
                return Refuse<AccountKeyInfo>(400, "ExpiredToken", "Token has been revoked");
            return Used(key);
        }

        public async Task<IResult> CreateAsync()
        {
            if (!HttpMethods.IsPost(context.Request.Method)) return ApiJson.Error(400, "InvalidRequest", "createSession is a procedure (POST)");
            // As the PDS: a body of JSON only (a page's cross-site form or text/plain POST is refused unread), and a small one.
            if (!context.Request.HasJsonContentType())
                return ApiJson.Error(400, "InvalidRequest", $"Wrong request encoding (Content-Type): {context.Request.ContentType ?? "none"}, expected application/json");
            var tooLarge = ApiJson.Error(413, "PayloadTooLarge", $"a login is at most {LoginBodyLimit} bytes");
            if (context.Request.ContentLength > LoginBodyLimit) return tooLarge;
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = LoginBodyLimit;
            string? identifier, password;
            try
            {
                using var doc = await JsonDocument.ParseAsync(context.Request.Body);
                (identifier, password) = (ApiJson.Text(doc.RootElement, "identifier"), ApiJson.Text(doc.RootElement, "password"));
            }
            catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
            {
                return ApiJson.Error(400, "InvalidRequest", "the body is not JSON of valid UTF-8");
            }
            catch (BadHttpRequestException e) when (e.StatusCode == 413)
            {
                return tooLarge;
            }
            if (identifier is null || password is null) return ApiJson.Error(400, "InvalidRequest", "identifier and password are required");
            var invalid = ApiJson.Error(401, "AuthenticationRequired", "Invalid identifier or password");
            if (index.Authenticate(password, Now) is not { } key) return invalid;
            // The identifier is the account's handle or DID, or its e-mail (as at the PDS, in any case).
            var byEmail = identifier.IndexOf('@') > 0 && string.Equals(await EmailOfAsync(key.Did), identifier, StringComparison.OrdinalIgnoreCase);
            if (await StatusAsync(byEmail ? key.Did : identifier) is not { } status || status.Did != key.Did) return invalid;
            // An account the supervisor holds no session for is refused as its PDS refuses a login that cannot be served, so
            // that a client does not log in to calls that all fail.
            if (status.State == AccountStateName.TakenDown) return ApiJson.Error(401, "AccountTakedown", "Account has been taken down");
            if (!status.State.HoldsSession())
                return ApiJson.Error(401, "AuthenticationRequired", $"the supervisor holds no session for this account ({status.State}): an operator must log it in again");
            var expires = Now + proxy.Settings.SessionRefreshLifetime;
            if (key.ExpiresAt is { } keyExpires && keyExpires < expires) expires = keyExpires;
            var opened = await keys.Ask<object>(new OpenKeySession(key.Id, expires), askTimeout, ended);
            if (opened is KeySessionsSpent spent)
                return ApiJson.Error(429, "RateLimitExceeded", $"this account key has used its session openings ({spent.Spent}, supervisor.keys.session-budget)", spent.RetryAt);
            if (opened is not KeySessionReply reply) return invalid;
            await index.WaitForAsync(reply.SequenceNr, KeysApi.ReadYourWrite);
            Used(key);
            return await SessionAnswerAsync(key, status, reply.Session);
        }

        /// <summary>
        /// Asks the keys' owner a question that may be asked twice (a rotation: the token before answers the same successor
        /// within its grace), in attempts of at most <see cref="KeysAttempt"/>: one sent to an owner whose node has just been
        /// lost (before the others noticed) is lost with it, and is asked again of the next owner instead of waiting out the
        /// whole time of the request.
        /// </summary>
        private async Task<object> AskAgainWhileLostAsync(object question)
        {
            var until = DateTime.UtcNow + askTimeout;
            while (true)
            {
                var left = until - DateTime.UtcNow;
                try
                {
                    return await keys.Ask<object>(question, left < KeysAttempt ? left : KeysAttempt, ended);
                }
                catch (AskTimeoutException) when (until - DateTime.UtcNow > TimeSpan.FromSeconds(1))
                {
                }
            }
        }

        public async Task<IResult> RefreshAsync()
        {
            if (Bearer() is not { } token) return Refusal!;
            if (Verified(token, "refresh+jwt") is not { } claims) return Refusal!;
            var rotated = await AskAgainWhileLostAsync(new RotateKeySession(claims.Sid, claims.Jti ?? ""));
            if (rotated is KeySessionsSpent spent)
                return ApiJson.Error(429, "RateLimitExceeded", $"this account key has used its session rotations ({spent.Spent}, supervisor.keys.rotation-budget)", spent.RetryAt);
            if (rotated is KeySessionReply { SequenceNr: var changed }) await index.WaitForAsync(changed, KeysApi.ReadYourWrite);
            if (rotated is not KeySessionReply reply || index.Key(reply.Session.KeyId) is not { } key)
                return ApiJson.Error(400, "ExpiredToken", (rotated as KeySessionRefused)?.Reason ?? "Token has been revoked");
            return await StatusAsync(key.Did) is { } status
                ? await SessionAnswerAsync(key, status, reply.Session)
                : ApiJson.Error(400, "InvalidRequest", "Could not find user info for account: " + key.Did);
        }

        public async Task<IResult> DeleteAsync()
        {
            if (Bearer() is not { } token) return Refusal!;
            if (Verified(token, "refresh+jwt") is not { } claims) return Refusal!;
            var closed = await keys.Ask<object>(new CloseKeySession(claims.Sid, claims.Jti ?? ""), askTimeout, ended);
            if (closed is KeySessionReply { SequenceNr: var changed }) await index.WaitForAsync(changed, KeysApi.ReadYourWrite);
            return closed is KeySessionReply ? Results.Ok() : ApiJson.Error(400, "ExpiredToken", (closed as KeySessionRefused)?.Reason ?? "Token has been revoked");
        }

        /// <summary>The account's getSession, without its DID document (whose PDS endpoint would take the client around the supervisor).</summary>
        public async Task<IResult> GetAsync(AccountKeyInfo key)
        {
            var (session, failure) = await PdsSessionAsync(key.Did, askTimeout);
            return session is not null ? Results.Content(session.ToJsonString(), "application/json") : failure!;
        }

        /// <summary>The account's session at its PDS (getSession) without its DID document, or the answer to give instead.</summary>
        private async Task<(JsonObject? Session, IResult? Failure)> PdsSessionAsync(string did, TimeSpan timeout)
        {
            var reply = await accounts.AskAccountAsync(new CallXrpc(did, XrpcRequest.Query("com.atproto.server.getSession"), SupervisorTrace.CurrentTraceParent()), timeout, cancel: ended);
            switch (reply)
            {
                case AccountUnavailable unavailable:
                    return (null, ApiJson.Unavailable(unavailable));
                case AccountMoved moved:
                    return (null, ApiJson.Moving(moved));
                case XrpcResponse { IsSuccess: true } answer when ParsedObject(answer.Body) is { } session:
                    session.Remove("didDoc");
                    return (session, null);
                case XrpcResponse { IsSuccess: false, Error: { } error } answer:
                    // The PDS's error as JSON of the supervisor's own, never its body as it came (an HTML page, an SVG).
                    return (null, ApiJson.Error(answer.IsTransportFailure ? 502 : answer.Status, error.Error, error.Message));
            }
            return (null, ApiJson.Error(502, XrpcError.InvalidResponse, "the PDS's getSession answer is not a session"));
        }

        /// <summary><paramref name="body"/> as a JSON object, or null when it is not one.</summary>
        private static JsonObject? ParsedObject(byte[] body)
        {
            try
            {
                return JsonNode.Parse(body) as JsonObject;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        /// <summary>A key session's answer.</summary>
        private async Task<IResult> SessionAnswerAsync(AccountKeyInfo key, AccountStatus status, KeySession session)
        {
            var scope = key.Allow.Count > 0 ? "com.atproto.access" : "com.atproto.appPass";
            var accessExpires = Now + proxy.Settings.SessionAccessLifetime;
            if (session.ExpiresAt < accessExpires) accessExpires = session.ExpiresAt;
            var answer = new JsonObject
            {
                ["accessJwt"] = jwt.Mint(false, key.Did, session.Sid, null, scope, Now, accessExpires),
                ["refreshJwt"] = jwt.Mint(true, key.Did, session.Sid, session.Jti, scope, Now, session.ExpiresAt),
                ["handle"] = status.Handle ?? "handle.invalid",
                ["did"] = key.Did,
                ["active"] = status.State is not (AccountStateName.TakenDown or AccountStateName.Deactivated),
            };
            // The e-mail fields, as the PDS's createSession and refreshSession have them; left out when its getSession fails or
            // takes too long (the session is open: it is not lost for them).
            var atPds = await CountedEmailLookupAsync(key.Did);
            foreach (var field in EmailFields)
                if (atPds?[field] is { } value) answer[field] = value.DeepClone();
            if (status.State == AccountStateName.TakenDown) answer["status"] = "takendown";
            if (status.State == AccountStateName.Deactivated) answer["status"] = "deactivated";
            return Results.Content(answer.ToJsonString(), "application/json");
        }

        /// <summary>
        /// The account's getSession at its PDS for a session's answer, or null when it fails or takes longer than
        /// <see cref="EmailLookupLimit"/>. A call to the PDS of this request like any other: counted with the account's
        /// requests in flight (waiting for a place within the same limit), so that a key holder replaying a refresh token
        /// by the thousand, each answered with these fields, has its PDS asked no more at once than its requests may.
        /// </summary>
        private async Task<JsonObject?> CountedEmailLookupAsync(string did)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            if ((proxy.EnterInFlight(did) ?? await proxy.WaitInFlightAsync(did, context, EmailLookupLimit)) is not { } counted) return null;
            try
            {
                var left = EmailLookupLimit - System.Diagnostics.Stopwatch.GetElapsedTime(started);
                return left > TimeSpan.Zero ? await EmailLookupAsync(did, left) : null;
            }
            finally
            {
                proxy.LeaveInFlight(counted);
            }
        }

        /// <summary>The account's getSession at its PDS, or null when it fails or takes longer than <paramref name="within"/>.</summary>
        private async Task<JsonObject?> EmailLookupAsync(string did, TimeSpan within)
        {
            try
            {
                return (await PdsSessionAsync(did, within)).Session;
            }
            catch (AskTimeoutException)
            {
                return null;
            }
        }

        /// <summary>
        /// The account's e-mail at its PDS, for logins by e-mail: looked up one at a time for an account and kept for
        /// <see cref="EmailKeptFor"/>, so that such logins, which a key holder may send at any rate before a key session is
        /// spent, cost its PDS one call a minute (bounded so, it is not counted with the account's requests in flight: the
        /// lookup, shared by the logins that wait for it, must not end with the request that started it).
        /// </summary>
        private Task<string?> EmailOfAsync(string did) => emails.GetAsync(did, async () =>
        {
            var email = (await EmailLookupAsync(did, EmailLookupLimit))?["email"] is JsonValue value && value.TryGetValue<string>(out var address) ? address : null;
            // A failed lookup is kept too, for less time: logins by e-mail sent in a loop while the PDS fails would otherwise ask it each time.
            return (email, email is null ? EmailMissKeptFor : EmailKeptFor);
        }, ended);

        private async Task<AccountStatus?> StatusAsync(string id) =>
            // Asked again while the account moves (a shard handed over): its AccountMoved is no answer about the account.
            await accounts.AskAccountAsync(new GetAccountStatus(id), askTimeout, cancel: ended) as AccountStatus;

        private string? Bearer()
        {
            var header = context.Request.Headers.Authorization.ToString();
            if (header.Length == 0) return Refuse(401, "AuthMissing", "Authentication Required");
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return Refuse(400, "InvalidToken", "Unexpected authorization type");
            return header["Bearer ".Length..].Trim();
        }

        private SessionJwt.Claims? Verified(string token, string type)
        {
            var claims = jwt.Verify(token, Now, out var error);
            if (claims is null) return Refuse<SessionJwt.Claims>(400, error!, error == "ExpiredToken" ? "Token has expired" : "Token could not be verified");
            return claims.Type == type ? claims : Refuse<SessionJwt.Claims>(400, "InvalidToken", "Invalid token type");
        }

        private AccountKeyInfo Used(AccountKeyInfo key)
        {
            if (key.LastUsedAt is not { } last || Now - last >= TimeSpan.FromMinutes(1)) keys.Tell(new RecordKeyUse(key.Id));
            return key;
        }

        private T? Refuse<T>(int status, string error, string message) where T : class
        {
            Refusal = ApiJson.Error(status, error, message);
            return null;
        }

        private string? Refuse(int status, string error, string message) => Refuse<string>(status, error, message);
    }
}
