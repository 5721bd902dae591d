using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Headers;
using Akka.Actor;
using Microsoft.AspNetCore.Http.Features;
using Supervisor.Actors.Account;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Keys;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tracing;
using Supervisor.Host.Http;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Host.Proxy;

/// <summary>
/// Passes one XRPC request of a client through to its account's PDS, streaming the bodies both ways between
/// Kestrel and the PDS: the body never enters an actor message. The account's actor lends its current access
/// token for the request (<see cref="BorrowAccessToken"/>) and holds its next rotation until the loan is back,
/// which happens as soon as the PDS's answer headers have come.
/// <para>
/// Bodies of ordinary procedures (at most <see cref="ProxySettings.BodyLimit"/>) are buffered: after a
/// <c>400 ExpiredToken</c> the account refreshes and the request is sent once more with the new token. Upload
/// bodies (<see cref="ProxySettings.UploadMethods"/>, up to <see cref="ProxySettings.UploadLimit"/>) are streamed
/// and cannot be sent twice: they leave only with a token that has a quarter of its lifetime left (the account
/// refreshes first otherwise), and should the PDS still refuse the token, its error goes back to the client as it
/// came (the account refreshes, so the client's own retry succeeds).
/// </para>
/// Headers pass by allow-list both ways (<see cref="XrpcHeaders"/>); the caller's Authorization never does.
/// </summary>
public sealed class XrpcPassThrough(PdsClient client, ProxySettings settings, ServerLimits limits, TimeSpan requestTimeout, TimeSpan askTimeout, ActorSystemEnd end)
{
    /// <summary>The largest error answer read to find out whether the PDS refused the token.</summary>
    private const int ErrorBodyLimit = 64 * 1024;

    /// <summary>The block an answer's body is copied in.</summary>
    private const int CopyBlock = 64 * 1024;

    private static readonly Serilog.ILogger Log = Serilog.Log.ForContext<XrpcPassThrough>();

    /// <summary>Content types a browser could run as a document: answered as attachments.</summary>
    private static readonly HashSet<string> Documents = new(StringComparer.OrdinalIgnoreCase)
    {
        "text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml", "text/xsl", "application/pdf",
    };

    private readonly HttpMessageInvoker _http = client.Invoker;
    private readonly PdsServiceDids _serviceDids = new(client);
    private readonly LocalLenders _lenders = new();
    private readonly RequestDeadlines _deadlines = new();
    private readonly RequestsInFlight _inFlight = new(settings.MaxInFlight);

    /// <summary>The settings in force.</summary>
    public ProxySettings Settings => settings;

    /// <summary>Passes the request of <paramref name="context"/> to the account <paramref name="accountId"/> (a DID or handle).</summary>
    public async Task ForwardAsync(HttpContext context, IActorRef accounts, string accountId, string nsid, Caller caller)
    {
        var request = context.Request;
        var isQuery = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method);
        if (!isQuery && !HttpMethods.IsPost(request.Method))
        {
            await ApiJson.Error(405, "InvalidRequest", "XRPC methods are GET (queries, or HEAD for their headers) or POST (procedures)").ExecuteAsync(context);
            return;
        }
        if (request.Headers.Upgrade.ToString().Contains("websocket", StringComparison.OrdinalIgnoreCase))
        {
            await ApiJson.Error(400, "InvalidRequest", "subscriptions (WebSocket) are not passed on: they need no token; connect to the PDS itself").ExecuteAsync(context);
            return;
        }
        if (!XrpcRequest.IsValidNsid(nsid))
        {
            await ApiJson.Error(400, "InvalidRequest", "the method is not a valid NSID").ExecuteAsync(context);
            return;
        }
        if (settings.SessionMethods.Contains(nsid))
        {
            await ApiJson.Error(400, "InvalidRequest", $"{nsid} is not passed on: the supervisor owns this account's session").ExecuteAsync(context);
            return;
        }
        if (caller.Key is { } key && Withheld(key, nsid))
        {
            await ApiJson.Error(403, "Forbidden", $"this account key was not issued with {nsid}").ExecuteAsync(context);
            return;
        }
        if (caller.Key is { } minter && string.Equals(nsid, ServiceAuthAudience.Method, StringComparison.OrdinalIgnoreCase)
            && ServiceTokenRefusal(context.Request.QueryString.Value, minter) is { } tokenRefusal)
        {
            await tokenRefusal.ExecuteAsync(context);
            return;
        }

        if (caller.Key is { } bound && !string.Equals(accountId, bound.Did, StringComparison.Ordinal))
        {
            // Decided before anything is asked of the path's account: a key learns nothing of other accounts (whether
            // they exist, their state) and wakes none of them.
            if (!await IsHandleOfAsync(accounts, bound.Did, accountId))
            {
                await ApiJson.Error(403, "Forbidden", "an account key reaches only its own account").ExecuteAsync(context);
                return;
            }
            accountId = bound.Did;
        }
        if ((EnterInFlight(accountId) ?? await WaitInFlightAsync(accountId, context)) is not { } counted)
        {
            await RefuseInFlightAsync(context);
            return;
        }
        try
        {
            var body = isQuery ? Body.None : await ReadBodyAsync(context, nsid);
            if (body.Refusal is { } refusal)
            {
                await refusal.ExecuteAsync(context);
                return;
            }
            for (var attempt = 0; ; attempt++)
            {
                var lent = await BorrowAsync(accounts, accountId, nsid, body.Streamed);
                if (lent.Refusal is { } noToken)
                {
                    await noToken.ExecuteAsync(context);
                    return;
                }
                if (!await SendAsync(context, accounts, lent.Loan!, nsid, body, retryable: attempt == 0 && !body.Streamed)) return;
            }
        }
        finally
        {
            LeaveInFlight(counted);
        }
    }

    /// <summary>
    /// Counts a request of the account <paramref name="accountId"/> among its requests in flight
    /// (<see cref="ProxySettings.MaxInFlight"/>): the name it is counted by, to give to <see cref="LeaveInFlight"/> when
    /// it ends, or null when the account has its most (answer it with <see cref="RefuseInFlightAsync"/>). Counted as the
    /// path names it, before anything is read or borrowed: an account key's by its DID, the admin's by the DID or the
    /// handle (in any case) it names. (Three calls rather than one taking the request as a delegate: no closure and no
    /// extra async frame on every request's way.)
    /// </summary>
    public string? EnterInFlight(string accountId)
    {
        var counted = RequestsInFlight.Counted(accountId);
        return _inFlight.TryEnter(counted) ? counted : null;
    }

    /// <summary>
    /// Counts in a request that <see cref="EnterInFlight"/> found no place for once one is free, waiting at most
    /// request-timeout, or <paramref name="within"/> (and while its client is there): the name it is counted by, or null
    /// when as many wait already, or none came free in time.
    /// </summary>
    public async Task<string?> WaitInFlightAsync(string accountId, HttpContext context, TimeSpan? within = null)
    {
        var counted = RequestsInFlight.Counted(accountId);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, end.Token);
        wait.CancelAfter(within ?? requestTimeout);
        return await _inFlight.EnterAsync(counted, wait.Token) ? counted : null;
    }

    /// <summary>Counts out a request that <see cref="EnterInFlight"/> counted in as <paramref name="counted"/>.</summary>
    public void LeaveInFlight(string counted) => _inFlight.Leave(counted);

    /// <summary>The answer to a request that <see cref="EnterInFlight"/> refused: 429 at once, to try again in a second.</summary>
    public Task RefuseInFlightAsync(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "1";
        return ApiJson.Error(429, "RateLimitExceeded",
            $"this account has {_inFlight.Limit} requests in flight through the supervisor and as many waiting (supervisor.proxy.max-in-flight): wait for one").ExecuteAsync(context);
    }

    /// <summary>
    /// Sends the request with <paramref name="loan"/>'s token and answers the client; true when the PDS refused the token
    /// and the request is to be sent once more. The loan goes back as soon as the answer's headers (and a refusal's small
    /// body) are in, before the answer's body is copied, and whatever happens: a long download or a client that goes away
    /// mid-answer holds no rotation.
    /// </summary>
    private async Task<bool> SendAsync(HttpContext context, IActorRef accounts, AccessTokenLent loan, string nsid, Body body, bool retryable)
    {
        var (status, error, givenBack) = (0, (XrpcError?)null, false);
        var deadline = _deadlines.Start(requestTimeout, context.RequestAborted);
        try
        {
            var decision = limits.Acquire(loan.Pds, loan.Did, nsid, CallKind.Request, DateTimeOffset.UtcNow);
            if (decision.HeldUntil is { } until)
            {
                context.Response.Headers["RateLimit-Reset"] = until.ToUnixTimeSeconds().ToString();
                await ApiJson.Error(429, "RateLimitExceeded", "held by the supervisor: " + decision.Reason, until).ExecuteAsync(context);
                return false;
            }
            var query = context.Request.QueryString.Value;
            if (ServiceAuthAudience.NamesSupervisor(nsid, context.Request))
            {
                var (pdsDid, failure) = await ServiceDidAsync(loan.Pds, deadline);
                if (pdsDid is null)
                {
                    if (!context.RequestAborted.IsCancellationRequested)
                        await ApiJson.Error(failure is null || failure.Error == XrpcError.Timeout ? 504 : 502, failure?.Error ?? XrpcError.Timeout,
                            failure?.Message ?? $"no answer from the PDS within {requestTimeout.TotalSeconds:0.#} s").ExecuteAsync(context);
                    return false;
                }
                query = ServiceAuthAudience.WithAudience(context.Request, pdsDid);
            }
            using var message = Build(context.Request, loan, nsid, query, body, deadline);
            HttpResponseMessage answer;
            try
            {
                answer = await _http.SendAsync(message, deadline.Token);
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                await ApiJson.Error(504, XrpcError.Timeout, $"no answer from the PDS within {requestTimeout.TotalSeconds:0.#} s").ExecuteAsync(context);
                return false;
            }
            catch (Exception e) when (BodyTooLarge(e))
            {
                // An upload of no announced length went past its limit while it streamed to the PDS (Kestrel stops reading).
                await ApiJson.Error(413, "PayloadTooLarge", $"the body of {nsid} is larger than its limit of {settings.LimitFor(nsid)} bytes").ExecuteAsync(context);
                return false;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                if (!context.RequestAborted.IsCancellationRequested)
                    await ApiJson.Error(502, XrpcError.NetworkError, "the PDS could not be reached: " + (e is HttpRequestException h ? OutboundAddresses.Reason(h) : "connection lost")).ExecuteAsync(context);
                return false;
            }
            using (answer)
            {
                status = (int)answer.StatusCode;
                var now = DateTimeOffset.UtcNow;
                var seen = limits.Bounded(new XrpcResponse(status, [], null, null, RateLimitHeaders.Read(answer.Headers, now)), now);
                if (seen.RateLimit is not null || status == 429) limits.Observe(loan.Pds, loan.Did, nsid, seen, now);
                var mediaType = answer.Content.Headers.ContentType?.MediaType;
                if (answer.IsSuccessStatusCode && PdsClient.IsHtml(mediaType) && !nsid.StartsWith("com.atproto.sync.", StringComparison.OrdinalIgnoreCase))
                {
                    await ApiJson.Error(502, XrpcError.InvalidResponse, $"the PDS answered {nsid} with an HTML page instead of an XRPC answer").ExecuteAsync(context);
                    return false;
                }
                BodyHead? head = null;
                // (A HEAD's answer has no body to read: its Content-Length, the GET's, goes as the PDS sent it.)
                if (status >= 400 && !HttpMethods.IsHead(context.Request.Method))
                {
                    try
                    {
                        deadline.CancelAfter(requestTimeout);
                        head = answer.Content.Headers.ContentLength is > ErrorBodyLimit ? null : await ReadHeadAsync(answer, deadline.Token);
                    }
                    catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
                    {
                        // An error answer that stalls or breaks before its end: as a PDS that did not answer, not the supervisor's failure.
                        if (!context.RequestAborted.IsCancellationRequested)
                            await (e is OperationCanceledException
                                ? ApiJson.Error(504, XrpcError.Timeout, $"the PDS's answer stopped midway for {requestTimeout.TotalSeconds:0.#} s")
                                : ApiJson.Error(502, XrpcError.NetworkError, "the PDS's answer stopped midway: connection lost")).ExecuteAsync(context);
                        return false;
                    }
                    // An error that echoes the account's token (the request's Authorization) never reaches the caller,
                    // compressed or not; one that cannot be read within the bound, longer or encoded beyond it, is not
                    // passed on either (a debugging page of a server in front of the PDS may list the request's headers).
                    if (head is not { Whole: true })
                    {
                        head = new BodyHead(OwnError($"the PDS's error answer is longer than {ErrorBodyLimit} bytes, the most passed on"), true, Rewritten: true);
                    }
                    else
                    {
                        var encoding = string.Join(",", answer.Content.Headers.ContentEncoding);
                        var decoded = EncodedBodies.Decode(head.Bytes, encoding, ErrorBodyLimit);
                        var read = XrpcResponse.From(status, decoded ?? [], mediaType, null);
                        var clean = read.WithoutSecrets(loan.AccessJwt);
                        if (decoded is null)
                            head = new BodyHead(OwnError($"the PDS's error answer, encoded as '{(encoding.Length > 40 ? encoding[..40] + "..." : encoding)}', could not be read within {ErrorBodyLimit} bytes"),
                                true, Rewritten: true);
                        else if (!ReferenceEquals(read, clean)) head = new BodyHead(clean.Body, true, Rewritten: true);
                        error = status < 500 ? clean.Error : null;
                    }
                    if (retryable && AccountRules.ClassifyRequest(status, error?.Error, error?.Message) == RequestOutcome.RefreshAndRetry)
                        return true;
                }
                loan.GiveBack(accounts, status, error);
                givenBack = true;
                await CopyAnswerAsync(context, answer, head, seen.RateLimit?.Reset, loan.AccessJwt, deadline);
                return false;
            }
        }
        finally
        {
            deadline.Return();
            if (!givenBack) loan.GiveBack(accounts, status, error);
        }
    }

    /// <summary>True when <paramref name="nsid"/> is privileged and <paramref name="key"/> was not issued with it.</summary>
    private bool Withheld(AccountKeyInfo key, string nsid) => MethodPatterns.Matches(settings.PrivilegedMethods, nsid) && !MethodPatterns.Matches(key.Allow, nsid);

    /// <summary>
    /// Why <paramref name="key"/> may not have this service token, or null: through a key, getServiceAuth takes <c>aud</c>,
    /// <c>exp</c> and <c>lxm</c> once each and nothing else (so that the PDS reads the very <c>lxm</c> checked here), must
    /// name its method (a token without one is good for every method at the service), and a privileged method needs the
    /// key to be issued with it, as the PDS refuses an app password a token for one.
    /// </summary>
    private IResult? ServiceTokenRefusal(string? query, AccountKeyInfo key)
    {
        string? lxm = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in (query ?? "").TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var split = pair.IndexOf('=');
            var name = Uri.UnescapeDataString((split < 0 ? pair : pair[..split]).Replace('+', ' '));
            if (name is not ("aud" or "exp" or "lxm") || !seen.Add(name))
                return ApiJson.Error(400, "InvalidRequest", "through an account key, getServiceAuth takes aud, exp and lxm, each once, and nothing else");
            if (name == "lxm") lxm = Uri.UnescapeDataString((split < 0 ? "" : pair[(split + 1)..]).Replace('+', ' '));
        }
        if (string.IsNullOrEmpty(lxm)) return ApiJson.Error(400, "InvalidRequest", "through an account key, a service token names its method (lxm)");
        return Withheld(key, lxm) ? ApiJson.Error(403, "Forbidden", $"this account key was not issued with {lxm}, which the service token would reach") : null;
    }

    /// <summary>The service DID of <paramref name="pds"/>, or why there is none (no failure: the deadline came, or the client went away).</summary>
    private async Task<(string? Did, XrpcError? Failure)> ServiceDidAsync(string pds, RequestDeadline deadline)
    {
        try
        {
            return await _serviceDids.OfAsync(pds, deadline.Token);
        }
        catch (OperationCanceledException)
        {
            return (null, null);
        }
    }

    private HttpRequestMessage Build(HttpRequest request, AccessTokenLent loan, string nsid, string? query, Body body, RequestDeadline deadline)
    {
        var message = new HttpRequestMessage(
            HttpMethods.IsGet(request.Method) ? HttpMethod.Get : HttpMethods.IsHead(request.Method) ? HttpMethod.Head : HttpMethod.Post,
            new Uri(loan.Pds.TrimEnd('/') + "/xrpc/" + nsid + query));
        // As written, not parsed again (a JWT is base64url and dots: JwtClaims read it when the account got it).
        message.Headers.TryAddWithoutValidation("Authorization", "Bearer " + loan.AccessJwt);
        // Only the allowed names are looked up: the caller's other headers are never read (nor turned into strings).
        string? encoding = null;
        foreach (var name in XrpcHeaders.Request)
        {
            if (!request.Headers.TryGetValue(name, out var values) || values.ToString() is not { } value || !XrpcHeaders.IsSafeValue(value)) continue;
            if (name == "Content-Encoding") encoding = value;
            else if (name != "Accept-Encoding") message.Headers.TryAddWithoutValidation(name, value);
            else message.Headers.TryAddWithoutValidation(name, EncodedBodies.Acceptable(value) ?? "identity");
        }
        if (body.ContentType is null) return message;
        message.Content = body.Buffered is { } bytes ? new ByteArrayContent(bytes) : new StreamedBody(request.Body, deadline, requestTimeout);
        message.Content.Headers.ContentType = body.ContentType;
        if (request.ContentLength is { } length) message.Content.Headers.ContentLength = length;
        if (encoding is not null) message.Content.Headers.TryAddWithoutValidation("Content-Encoding", encoding);
        return message;
    }

    /// <summary>
    /// Copies the answer: status, allowed headers, body; a 429 gets a Retry-After from its (bounded) reset. The body has
    /// <paramref name="deadline"/>'s time again for each block (read from the PDS, written to the client): a PDS or a
    /// client that stops mid-answer for request-timeout ends the request (the connection to the client is cut).
    /// </summary>
    private async Task CopyAnswerAsync(HttpContext context, HttpResponseMessage answer, BodyHead? head, DateTimeOffset? reset, string token, RequestDeadline deadline)
    {
        var response = context.Response;
        response.StatusCode = (int)answer.StatusCode;
        foreach (var (name, value) in XrpcHeaders.PickResponse(answer))
            if (!value.Contains(token, StringComparison.Ordinal)) response.Headers[name] = value; // never the account's token
        var contentType = answer.Content.Headers.ContentType;
        if (contentType?.ToString() is { } type && XrpcHeaders.IsSafeValue(type)) response.ContentType = type;
        if (contentType?.MediaType is not { } media || Documents.Contains(media)) response.Headers.ContentDisposition = "attachment";
        if (answer.StatusCode == System.Net.HttpStatusCode.TooManyRequests && !response.Headers.ContainsKey("Retry-After") && reset is { } at)
            response.Headers.RetryAfter = ApiJson.RetryAfter(at);
        if (head is not null)
        {
            if (head.Rewritten)
            {
                response.ContentType = "application/json";
                response.Headers.ContentEncoding = default;
                response.Headers.ContentDisposition = default;
            }
            response.ContentLength = head.Bytes.Length;
            await response.Body.WriteAsync(head.Bytes, context.RequestAborted);
            return;
        }
        if (answer.Content.Headers.ContentLength is { } length) response.ContentLength = length;
        var block = ArrayPool<byte>.Shared.Rent(CopyBlock);
        try
        {
            await using var stream = await answer.Content.ReadAsStreamAsync(deadline.Token);
            int read;
            do
            {
                deadline.CancelAfter(requestTimeout);
                read = await stream.ReadAsync(block.AsMemory(0, CopyBlock), deadline.Token);
                if (read > 0) await response.Body.WriteAsync(block.AsMemory(0, read), deadline.Token);
            }
            while (read > 0);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && !context.RequestAborted.IsCancellationRequested)
        {
            // Too late for an error answer (the status and part of the body are out): the client sees the answer cut.
            Log.Warning("The answer of {Nsid} from {Pds} stopped midway ({Reason}): the connection to the client was cut",
                context.GetRouteValue("nsid"), answer.RequestMessage?.RequestUri?.GetLeftPart(UriPartial.Authority),
                e is OperationCanceledException ? $"nothing came for {requestTimeout.TotalSeconds:0.#} s" : "connection lost");
            context.Abort();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    /// <summary>The supervisor's JSON in place of an error body it could not read within <see cref="ErrorBodyLimit"/> (too long, or encoded beyond it).</summary>
    private static byte[] OwnError(string message) =>
        System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new XrpcError(XrpcError.InvalidResponse, message), ApiJson.Options);

    /// <summary>
    /// The first bytes of an answer's body, and whether they are all of it; <paramref name="Rewritten"/> when they are the
    /// supervisor's JSON in place of an error that held the account's token.
    /// </summary>
    private sealed record BodyHead(byte[] Bytes, bool Whole, bool Rewritten = false);

    /// <summary>
    /// Reads an error answer's body up to <see cref="ErrorBodyLimit"/>: whether the PDS refused the token, and whether the
    /// body echoes it.
    /// </summary>
    private static async Task<BodyHead> ReadHeadAsync(HttpResponseMessage answer, CancellationToken ct)
    {
        var stream = await answer.Content.ReadAsStreamAsync(ct);
        var buffer = ArrayPool<byte>.Shared.Rent(ErrorBodyLimit + 1);
        try
        {
            var filled = 0;
            int read;
            while (filled <= ErrorBodyLimit && (read = await stream.ReadAsync(buffer.AsMemory(filled, ErrorBodyLimit + 1 - filled), ct)) > 0)
                filled += read;
            return new BodyHead(buffer[..filled], filled <= ErrorBodyLimit);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // ------------------------------------------------------------------ the request body

    /// <summary>A request body: none, buffered (retryable) or streamed; or the answer refusing it.</summary>
    private sealed record Body(MediaTypeHeaderValue? ContentType, byte[]? Buffered, bool Streamed, IResult? Refusal = null)
    {
        public static readonly Body None = new(null, null, false);
    }

    private async Task<Body> ReadBodyAsync(HttpContext context, string nsid)
    {
        var request = context.Request;
        var limit = settings.LimitFor(nsid);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit;
        var tooLarge = ApiJson.Error(413, "PayloadTooLarge", $"the body of {nsid} is larger than its limit of {limit} bytes");
        if (request.ContentLength > limit) return new Body(null, null, false, tooLarge);
        var hasBody = request.ContentLength > 0 || request.ContentLength is null && request.Headers.TransferEncoding.Count > 0;
        if (!hasBody && string.IsNullOrEmpty(request.ContentType)) return Body.None;
        if (XrpcHeaders.ParseContentType(request.ContentType) is not { } contentType)
            return new Body(null, null, false, ApiJson.Error(400, "InvalidRequest",
                string.IsNullOrEmpty(request.ContentType) ? "a request body needs a Content-Type" : "the Content-Type is not a valid media type"));
        if (settings.UploadMethods.Contains(nsid)) return new Body(contentType, null, true);
        // A buffered body comes whole within request-timeout: one sent quickly and then held (Kestrel's least data rate,
        // 240 bytes a second on average, lets a megabyte wait over an hour) would keep its buffer and its place among the
        // account's requests in flight.
        using var arrival = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        arrival.CancelAfter(requestTimeout);
        try
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, arrival.Token);
            return buffer.Length > limit ? new Body(null, null, false, tooLarge) : new Body(contentType, buffer.ToArray(), false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            return new Body(null, null, false, tooLarge);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            return new Body(null, null, false, ApiJson.Error(408, "RequestTimeout", $"the body of {nsid} did not arrive whole within {requestTimeout.TotalSeconds:0.#} s"));
        }
    }

    private static bool BodyTooLarge(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
            if (inner is BadHttpRequestException { StatusCode: 413 }) return true;
        return false;
    }

    /// <summary>Whether <paramref name="id"/> is the handle of the account <paramref name="did"/> (asked of that account only).</summary>
    private async Task<bool> IsHandleOfAsync(IActorRef accounts, string did, string id) =>
        !id.StartsWith("did:", StringComparison.Ordinal)
        && await accounts.AskAccountAsync(new GetAccountStatus(did), askTimeout, cancel: end.Token) is AccountStatus { Handle: { } handle }
        && string.Equals(handle, id, StringComparison.OrdinalIgnoreCase);

    // ------------------------------------------------------------------ the loan

    private sealed record Lent(AccessTokenLent? Loan, IResult? Refusal);

    private async Task<Lent> BorrowAsync(IActorRef accounts, string accountId, string nsid, bool streamed)
    {
        object? reply = null;
        var borrow = new BorrowAccessToken(accountId, nsid, streamed, SupervisorTrace.CurrentTraceParent());
        var started = Stopwatch.GetTimestamp();
        try
        {
            // Straight to the account when it lent here lately; it answers AccountMoved from the dead letters if it has
            // stopped since. Not answered within request-timeout (a refresh in flight holds borrows): the long way.
            if (_lenders.For(accountId) is { } lender)
            {
                var asked = LocalReply.Ask(lender, borrow);
                try
                {
                    reply = await asked.Answer.WaitAsync(requestTimeout, end.Token);
                }
                catch (TimeoutException)
                {
                    // The long way, below. Should the account lend for this borrow after all (it held it through a refresh),
                    // the loan goes back at once rather than hold its next rotation until the loan's time is up.
                    asked.WhenLate(late => (late as AccessTokenLent)?.GiveBack(accounts));
                }
                if (reply is null or AccountMoved)
                {
                    _lenders.Forget(accountId);
                    reply = null;
                }
            }
            // Asked again when it reached a node the account had left: at once when that node answers AccountMoved, after
            // request-timeout when nothing answers; within ask-timeout in all (three times request-timeout).
            reply ??= await accounts.AskAccountAsync(borrow, askTimeout - Stopwatch.GetElapsedTime(started), firstTry: requestTimeout, cancel: end.Token);
        }
        catch (AskTimeoutException)
        {
            return new Lent(null, ApiJson.Error(504, "Timeout", "the supervisor did not answer in time"));
        }
        if (reply is AccessTokenLent lent) _lenders.Lent(accountId, lent);
        return reply switch
        {
            AccessTokenLent loan => new Lent(loan, null),
            AccountNotFound missing => new Lent(null, ApiJson.Error(404, "AccountNotFound", $"no account '{missing.AccountId}'")),
            AccountUnavailable unavailable => new Lent(null, ApiJson.Unavailable(unavailable)),
            AccountMoved moved => new Lent(null, ApiJson.Moving(moved)),
            _ => new Lent(null, ApiJson.Error(500, "InternalError", $"unexpected answer {reply.GetType().Name}")),
        };
    }
}
