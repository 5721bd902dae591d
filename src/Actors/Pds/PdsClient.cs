using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Supervisor.Actors.Pds;

/// <summary>
/// The atproto wire client: sends XRPC calls to a service over one shared <see cref="HttpClient"/>. It
/// never throws for a failed call: every outcome, a network error or timeout included, comes back as an
/// <see cref="XrpcResponse"/>. Thread-safe; one instance serves every account. <paramref name="time"/>
/// (default: the system clock) dates the answers' rate-limit headers.
/// </summary>
public sealed class PdsClient(HttpClient http, TimeSpan requestTimeout, int maxAnswerBytes = PdsClient.DefaultMaxAnswerBytes, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>
    /// The connections of the session methods (login, refresh, logout, account creation): a pool of their own, so that
    /// the accounts' requests (slow downloads and uploads passed through, each holding a connection to its server for as
    /// long as it moves) can never take every connection to a server and leave the refreshes of its accounts waiting.
    /// </summary>
    private HttpClient SessionHttp { get; init; } = http;

    /// <summary>The default bound of an answer read whole (session calls, calls by message).</summary>
    public const int DefaultMaxAnswerBytes = 4 * 1024 * 1024;

    /// <summary>The largest answer body read; a larger one ends as <see cref="XrpcError.InvalidResponse"/>.</summary>
    public int MaxAnswerBytes { get; } = maxAnswerBytes;

    /// <summary>How long one call may take before it ends as <see cref="XrpcError.Timeout"/>.</summary>
    public TimeSpan RequestTimeout { get; } = requestTimeout;

    /// <summary>The shared HttpClient.</summary>
    public HttpClient Http { get; } = http;

    /// <summary>
    /// The same connections as <see cref="Http"/> without HttpClient's own layer (a linked cancellation source and a state
    /// machine a call): the host's pass-through streams over it, under a deadline of its own.
    /// </summary>
    public HttpMessageInvoker Invoker { get; private init; } = http;

    /// <summary>
    /// A client with its own connections (renewed every few minutes) to the addresses <paramref name="outbound"/> allows
    /// (default: public ones only), its calls timed into <paramref name="metrics"/> when given.
    /// </summary>
    public static PdsClient Create(TimeSpan requestTimeout, int maxAnswerBytes = DefaultMaxAnswerBytes, Account.SupervisorMetrics? metrics = null, OutboundAddresses? outbound = null)
    {
        var addresses = outbound ?? OutboundAddresses.PublicOnly;
        var handler = CreateHandler(requestTimeout, metrics, addresses);
        return new(new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan }, requestTimeout, maxAnswerBytes)
        {
            Invoker = new HttpMessageInvoker(handler, disposeHandler: false),
            SessionHttp = new HttpClient(CreateHandler(requestTimeout, metrics, addresses)) { Timeout = Timeout.InfiniteTimeSpan },
        };
    }

    /// <summary>
    /// The handler for servers the supervisor does not control: no redirects, no cookies, no automatic decompression,
    /// connections only to the addresses <paramref name="outbound"/> allows. With <paramref name="metrics"/>, every call
    /// through it is timed (<see cref="PdsCallTiming"/>).
    /// </summary>
    private static HttpMessageHandler CreateHandler(TimeSpan connectTimeout, Account.SupervisorMetrics? metrics, OutboundAddresses outbound)
    {
        var sockets = outbound.CreateHandler(connectTimeout);
        return metrics is null ? sockets : new PdsCallTiming(metrics) { InnerHandler = sockets };
    }

    // Answers come back with the secrets their call sent cut from their errors (XrpcResponse.WithoutSecrets): the
    // bearer of every call, a login's password and code, an account creation's password and invite code.

    /// <summary>com.atproto.server.createSession. The password is sent and forgotten.</summary>
    public async Task<XrpcResponse> CreateSessionAsync(string service, string identifier, string password, string? authFactorToken, CancellationToken ct = default)
    {
        var body = new JsonObject { ["identifier"] = identifier, ["password"] = password };
        if (!string.IsNullOrEmpty(authFactorToken)) body["authFactorToken"] = authFactorToken;
        return (await SendAsync(service, XrpcRequest.Procedure("com.atproto.server.createSession", body.ToJsonString()), null, ct).ConfigureAwait(false))
            .WithoutSecrets(password, authFactorToken);
    }

    /// <summary>com.atproto.server.createAccount.</summary>
    public async Task<XrpcResponse> CreateAccountAsync(string service, string handle, string email, string password, string? inviteCode, CancellationToken ct = default)
    {
        var body = new JsonObject { ["handle"] = handle, ["email"] = email, ["password"] = password };
        if (!string.IsNullOrEmpty(inviteCode)) body["inviteCode"] = inviteCode;
        return (await SendAsync(service, XrpcRequest.Procedure("com.atproto.server.createAccount", body.ToJsonString()), null, ct).ConfigureAwait(false))
            .WithoutSecrets(password, inviteCode);
    }

    /// <summary>com.atproto.server.refreshSession with the refresh token as Bearer.</summary>
    public Task<XrpcResponse> RefreshSessionAsync(string service, string refreshJwt, CancellationToken ct = default) =>
        SendAsync(service, new XrpcRequest("com.atproto.server.refreshSession", XrpcMethodKind.Procedure), refreshJwt, ct);

    /// <summary>com.atproto.server.deleteSession with the refresh token as Bearer.</summary>
    public Task<XrpcResponse> DeleteSessionAsync(string service, string refreshJwt, CancellationToken ct = default) =>
        SendAsync(service, new XrpcRequest("com.atproto.server.deleteSession", XrpcMethodKind.Procedure), refreshJwt, ct);

    /// <summary>Sends one XRPC call to <paramref name="baseUrl"/>, with <paramref name="bearer"/> when given.</summary>
    public async Task<XrpcResponse> SendAsync(string baseUrl, XrpcRequest request, string? bearer, CancellationToken ct = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(RequestTimeout);
        var host = HostOf(baseUrl);
        // The method becomes the URL's path: anything but an NSID (a call by message names it freely) goes nowhere.
        if (!XrpcRequest.IsValidNsid(request.Nsid)) return XrpcResponse.Failed(XrpcError.InvalidRequest, "the method is not a valid NSID");
        try
        {
            if (BuildMessage(baseUrl, request, bearer) is not { } message)
                return XrpcResponse.Failed(XrpcError.InvalidRequest, $"the content type of the {request.Nsid} body is not a valid media type");
            using var _ = message;
            using var answer = await (SessionMethods.Contains(request.Nsid) ? SessionHttp : Http).SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var limit = SessionAnswers.Contains(request.Nsid) ? Math.Min(SessionAnswerLimit, MaxAnswerBytes) : MaxAnswerBytes;
            var body = await ReadBodyAsync(answer, limit, timeout.Token).ConfigureAwait(false);
            if (body is null)
                return XrpcResponse.Failed(XrpcError.InvalidResponse, $"the answer from {host} is larger than {limit} bytes");
            var headers = XrpcHeaders.PickResponse(answer);
            // Read here, so read plain: a body the server compressed unasked (the supervisor asks for none) is decoded,
            // or the token it might echo would pass the check below unseen.
            if (string.Join(",", answer.Content.Headers.ContentEncoding) is { Length: > 0 } encoding)
            {
                if (EncodedBodies.Decode(body, encoding, limit) is not { } decoded)
                    return XrpcResponse.Failed(XrpcError.InvalidResponse, $"the answer from {host} is encoded in a way the supervisor cannot read within {limit} bytes");
                body = decoded;
                headers = headers.Where(h => !h.Key.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase)).ToDictionary(StringComparer.OrdinalIgnoreCase);
            }
            var mediaType = answer.Content.Headers.ContentType?.MediaType;
            // An XRPC answer is JSON (or, for the sync methods, the repo's own bytes): a 2xx HTML page comes
            // from something in between (a portal, a misrouted proxy), not from a PDS.
            if (answer.IsSuccessStatusCode && IsHtml(mediaType) && !request.Nsid.StartsWith("com.atproto.sync.", StringComparison.OrdinalIgnoreCase))
                return XrpcResponse.Failed(XrpcError.InvalidResponse, $"{host} answered {request.Nsid} with an HTML page instead of an XRPC answer");
            return XrpcResponse.From((int)answer.StatusCode, body, XrpcHeaders.IsSafeValue(answer.Content.Headers.ContentType?.ToString()) ? answer.Content.Headers.ContentType?.ToString() : null,
                RateLimitHeaders.Read(answer.Headers, _time.GetUtcNow()), headers).WithoutSecrets(bearer);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return XrpcResponse.Failed(XrpcError.Timeout, $"no answer from {host} within {RequestTimeout.TotalSeconds:0.#} s");
        }
        // .NET quotes what the server sent in these messages ("invalid header line: '…'", "invalid status line"): a server,
        // or something in front of it, that answers with the request's own Authorization line puts the token there.
        catch (HttpRequestException e)
        {
            return XrpcResponse.Failed(XrpcError.NetworkError, $"{host}: {e.HttpRequestError}: {e.InnerException?.Message ?? e.Message}").WithoutSecrets(bearer);
        }
        catch (IOException e)
        {
            return XrpcResponse.Failed(XrpcError.NetworkError, $"{host}: connection lost: {e.Message}").WithoutSecrets(bearer);
        }
        catch (Exception e) when (e is UriFormatException or InvalidOperationException or ArgumentException or FormatException)
        {
            // Something the server or the caller handed over cannot be sent (a malformed URL or header): a failed call, never a throw.
            return XrpcResponse.Failed(XrpcError.InvalidRequest, $"the call to {host} cannot be made: {e.GetType().Name}");
        }
    }

    /// <summary>
    /// The session methods, sent over <see cref="SessionHttp"/>; the supervisor owns each account's session, so it never
    /// passes them on for a client either (compared ignoring case, as the reference PDS's routes are).
    /// </summary>
    public static readonly IReadOnlySet<string> SessionMethods = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "com.atproto.server.createSession", "com.atproto.server.refreshSession", "com.atproto.server.deleteSession",
        "com.atproto.server.createAccount",
    };

    /// <summary>
    /// The methods whose answer is a session (with its DID document: a few KB), read to at most
    /// <see cref="SessionAnswerLimit"/> bytes: a hostile server's longer answer is refused as it arrives (at once when its
    /// length says so), not held and parsed, however often a key holder asks for it.
    /// </summary>
    public static readonly IReadOnlySet<string> SessionAnswers = new HashSet<string>(SessionMethods.Append("com.atproto.server.getSession"), StringComparer.OrdinalIgnoreCase);

    /// <summary>The most of a session's answer read (<see cref="SessionAnswers"/>).</summary>
    public const int SessionAnswerLimit = 64 * 1024;

    /// <summary>The HTTP request of an XRPC call, or null when its content type is not a valid media type.</summary>
    private static HttpRequestMessage? BuildMessage(string baseUrl, XrpcRequest request, string? bearer)
    {
        var url = new StringBuilder(baseUrl.TrimEnd('/')).Append("/xrpc/").Append(request.Nsid);
        if (request.Parameters is { Count: > 0 } parameters)
        {
            url.Append('?').AppendJoin('&', parameters.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        }
        var message = new HttpRequestMessage(
            request.Kind == XrpcMethodKind.Query ? HttpMethod.Get : HttpMethod.Post,
            new Uri(url.ToString()));
        if (bearer is not null) message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        // Not Accept-Encoding either: the answer is read here whole, and read plain.
        foreach (var (name, value) in XrpcHeaders.PickRequest(request.Headers ?? new Dictionary<string, string>()))
            if (!name.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase) && !name.Equals("Accept-Encoding", StringComparison.OrdinalIgnoreCase))
                message.Headers.TryAddWithoutValidation(name, value);
        if (request.Kind == XrpcMethodKind.Procedure && request.Body is not null)
        {
            if (XrpcHeaders.ParseContentType(request.ContentType) is not { } contentType)
            {
                message.Dispose();
                return null;
            }
            message.Content = new ByteArrayContent(request.Body);
            message.Content.Headers.ContentType = contentType;
            if (request.Headers?.FirstOrDefault(h => h.Key.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase)).Value is { } encoding && XrpcHeaders.IsSafeValue(encoding))
                message.Content.Headers.TryAddWithoutValidation("Content-Encoding", encoding);
        }
        return message;
    }

    /// <summary>Whether <paramref name="mediaType"/> is HTML (media types ignore case: <c>Text/HTML</c> is one too).</summary>
    public static bool IsHtml(string? mediaType) => string.Equals(mediaType, "text/html", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads an answer's body whole, or null when it is longer than <paramref name="limit"/> bytes.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpResponseMessage answer, int limit, CancellationToken ct)
    {
        if (answer.Content.Headers.ContentLength > limit) return null;
        await using var stream = await answer.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static string HostOf(string baseUrl) =>
        Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) ? uri.Authority : "the service";
}
