using System.Net;
using System.Text;
using System.Text.Json;
using DnsClient;
using DnsClient.Protocol;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Identity;

/// <summary>
/// Resolves DIDs to their documents and handles to DIDs independently of any PDS, and verifies that a handle
/// belongs to a DID both ways (the atproto identity rules). It never throws for a failed lookup: every outcome
/// comes back as a result with a reason. Redirects are not followed, at most <see cref="MaxAnswerBytes"/> of
/// an answer are read, and each HTTP call or DNS query ends after <see cref="IdentitySettings.Timeout"/>.
/// Successes are cached for <see cref="IdentitySettings.CacheTtl"/>. Thread-safe; one instance serves every account.
/// </summary>
public sealed class IdentityResolver
{
    /// <summary>The largest answer read; a larger one is an <see cref="IdentityError.InvalidAnswer"/>.</summary>
    public const int MaxAnswerBytes = 64 * 1024;

    private const string PdsServiceType = "AtprotoPersonalDataServer";

    /// <summary>The method of a DNS answer with conflicting did= records: final, no HTTPS fallback.</summary>
    private const string DnsConflict = "dns-conflict";

    private readonly HttpClient _http;
    private readonly IReadOnlyList<IPEndPoint>? _dnsServers;
    private readonly IdentityCache<DidResolution> _documents;
    private readonly IdentityCache<HandleResolution> _handles;
    private readonly Lazy<LookupClient?> _dns;

    /// <summary>
    /// A resolver calling out through <paramref name="http"/> (which should not follow redirects, see
    /// <see cref="Create"/>); DNS goes to <paramref name="dnsServers"/>, or to the system's name servers when null.
    /// </summary>
    public IdentityResolver(HttpClient http, IdentitySettings settings, IReadOnlyList<IPEndPoint>? dnsServers = null, TimeProvider? time = null)
    {
        _http = http;
        Settings = settings;
        _dnsServers = dnsServers;
        time ??= TimeProvider.System;
        _documents = new IdentityCache<DidResolution>(settings.CacheTtl, settings.CacheSize, time);
        _handles = new IdentityCache<HandleResolution>(settings.CacheTtl, settings.CacheSize, time);
        _dns = new Lazy<LookupClient?>(CreateDnsClient);
    }

    /// <summary>
    /// A resolver with its own HttpClient, on the handler for servers the supervisor does not control
    /// (<see cref="Pds.OutboundAddresses.CreateHandler"/>: no redirects, connections only to the addresses
    /// <paramref name="outbound"/> allows, by default public ones).
    /// </summary>
    public static IdentityResolver Create(IdentitySettings settings, Pds.OutboundAddresses? outbound = null) =>
        new(new HttpClient((outbound ?? Pds.OutboundAddresses.PublicOnly).CreateHandler(settings.Timeout))
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        }, settings);

    /// <summary>The settings the resolver runs with.</summary>
    public IdentitySettings Settings { get; }

    /// <summary>The URL a handle's DID is read from when DNS has none (for the specs: plain http to a fake).</summary>
    internal Func<string, string> HandleWellKnownUrl { get; set; } = handle => $"https://{handle}/.well-known/atproto-did";

    /// <summary>Drops what the cache holds for a DID or a handle (for instance after an identity event).</summary>
    public void Forget(string didOrHandle)
    {
        _documents.Remove(didOrHandle);
        _handles.Remove(didOrHandle.ToLowerInvariant());
    }

    // ------------------------------------------------------------------ DIDs

    /// <summary>
    /// Reads the DID document: did:plc from the PLC directory (<c>GET {plc-directory}/{did}</c>), did:web from
    /// <c>https://HOST/.well-known/did.json</c> (plain http only for localhost and loopback addresses). The
    /// document's <c>id</c> must be the DID.
    /// </summary>
    public async Task<DidResolution> ResolveDidAsync(string did, CancellationToken ct = default)
    {
        if (!DidSyntax.IsValid(did))
            return DidResolution.Failed(did, IdentityError.InvalidSyntax, "not a valid did:plc or did:web identifier");
        if (_documents.TryGet(did, out var cached)) return cached;
        var url = DidDocumentUrl(did);
        var answer = await GetAsync(url, ct).ConfigureAwait(false);
        var result = answer.Error != IdentityError.None
            ? DidResolution.Failed(did, answer.Error, $"the DID document: {answer.Reason}")
            : ReadDocument(did, answer.Body, url.Authority);
        if (result.Succeeded) _documents.Set(did, result);
        return result;
    }

    private Uri DidDocumentUrl(string did)
    {
        if (DidSyntax.IsPlc(did)) return new Uri($"{Settings.PlcDirectory}/{did}");
        DidSyntax.TryParseWeb(did, out var host, out var port);
        var scheme = IsLoopback(host) ? "http" : "https";
        return new Uri($"{scheme}://{host}{(port is { } p ? ":" + p : "")}/.well-known/did.json");
    }

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));

    private static DidResolution ReadDocument(string did, byte[] body, string source)
    {
        JsonDocument parsed;
        try
        {
            parsed = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException)
        {
            return DidResolution.Failed(did, IdentityError.InvalidAnswer, $"the DID document from {source} is not JSON");
        }
        using (parsed)
        {
            var doc = parsed.RootElement;
            if (doc.ValueKind != JsonValueKind.Object)
                return DidResolution.Failed(did, IdentityError.InvalidAnswer, $"the DID document from {source} is not a JSON object");
            if (!doc.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String || id.GetString() != did)
                return DidResolution.Failed(did, IdentityError.InvalidAnswer, $"the document from {source} is not this DID's: its id differs");
            return DidResolution.Resolved(did, PdsEndpoint(doc), Handles(doc));
        }
    }

    /// <summary>The first <c>#atproto_pds</c> service, when it has the PDS type and an http(s) endpoint.</summary>
    private static string? PdsEndpoint(JsonElement doc)
    {
        if (!doc.TryGetProperty("service", out var services) || services.ValueKind != JsonValueKind.Array) return null;
        var first = services.EnumerateArray().FirstOrDefault(s => s.ValueKind == JsonValueKind.Object
            && SessionGrant.OptionalString(s, "id") is { } id && id.EndsWith("#atproto_pds", StringComparison.Ordinal));
        return first.ValueKind == JsonValueKind.Object && SessionGrant.OptionalString(first, "type") == PdsServiceType
            ? DidDocument.PdsEndpoint(doc)
            : null;
    }

    /// <summary>The valid handles of the <c>at://</c> entries of alsoKnownAs, normalised, without repeats.</summary>
    private static List<string> Handles(JsonElement doc)
    {
        var handles = new List<string>();
        if (!doc.TryGetProperty("alsoKnownAs", out var aka) || aka.ValueKind != JsonValueKind.Array) return handles;
        foreach (var entry in aka.EnumerateArray())
        {
            if (entry.ValueKind == JsonValueKind.String
                && entry.GetString() is { } uri && uri.StartsWith("at://", StringComparison.Ordinal)
                && HandleSyntax.TryNormalize(uri["at://".Length..], out var handle)
                && !handles.Contains(handle))
                handles.Add(handle);
        }
        return handles;
    }

    // ------------------------------------------------------------------ handles

    /// <summary>
    /// The DID a handle points to: through the configured handle resolver
    /// (com.atproto.identity.resolveHandle), or else the DNS TXT record <c>_atproto.HANDLE</c>
    /// (<c>did=DID</c>) and then <c>https://HANDLE/.well-known/atproto-did</c>. Invalid syntax fails at once.
    /// </summary>
    public async Task<HandleResolution> ResolveHandleAsync(string handle, CancellationToken ct = default)
    {
        if (!HandleSyntax.TryNormalize(handle, out var normal))
            return HandleResolution.Failed(handle, "syntax", IdentityError.InvalidSyntax, "not a valid handle");
        if (_handles.TryGet(normal, out var cached)) return cached;
        HandleResolution result;
        if (Settings.HandleResolver.Length > 0)
        {
            result = await ResolveWithResolverAsync(normal, ct).ConfigureAwait(false);
        }
        else
        {
            var dns = await ResolveWithDnsAsync(normal, ct).ConfigureAwait(false);
            // DNS's answer is final when it names a DID, or conflicting ones (refused outright, as the atproto
            // spec says); an absent record, a malformed answer or an unreachable name server fall back to HTTPS.
            result = dns.Succeeded || dns.Method == DnsConflict
                ? dns
                : Combine(dns, await ResolveWithWellKnownAsync(normal, ct).ConfigureAwait(false));
        }
        if (result.Succeeded) _handles.Set(normal, result);
        return result;
    }

    private static HandleResolution Combine(HandleResolution dns, HandleResolution https)
    {
        if (https.Succeeded) return https;
        var error = dns.IsTransient && !https.IsTransient ? dns.Error : https.Error;
        return HandleResolution.Failed(https.Handle, "dns+https", error, $"DNS: {dns.Reason}; HTTPS: {https.Reason}");
    }

    private async Task<HandleResolution> ResolveWithResolverAsync(string handle, CancellationToken ct)
    {
        const string method = "resolver";
        var url = new Uri($"{Settings.HandleResolver}/xrpc/com.atproto.identity.resolveHandle?handle={Uri.EscapeDataString(handle)}");
        var answer = await GetAsync(url, ct).ConfigureAwait(false);
        if (answer.Status == 400)
            return HandleResolution.Failed(handle, method, IdentityError.NotFound, $"{url.Authority} cannot resolve the handle (400 {ErrorName(answer.Body)})");
        if (answer.Error != IdentityError.None) return HandleResolution.Failed(handle, method, answer.Error, answer.Reason);
        string? did = null;
        try
        {
            using var parsed = JsonDocument.Parse(answer.Body, new JsonDocumentOptions { MaxDepth = 32 });
            if (parsed.RootElement.ValueKind == JsonValueKind.Object) did = SessionGrant.OptionalString(parsed.RootElement, "did");
        }
        catch (JsonException)
        {
            return HandleResolution.Failed(handle, method, IdentityError.InvalidAnswer, $"the answer of {url.Authority} is not JSON");
        }
        return DidSyntax.IsValid(did)
            ? HandleResolution.Resolved(handle, did!, method)
            : HandleResolution.Failed(handle, method, IdentityError.InvalidAnswer, $"{url.Authority} answered without a valid DID");
    }

    private async Task<HandleResolution> ResolveWithWellKnownAsync(string handle, CancellationToken ct)
    {
        const string method = "https";
        var url = new Uri(HandleWellKnownUrl(handle));
        var answer = await GetAsync(url, ct).ConfigureAwait(false);
        if (answer.Error != IdentityError.None) return HandleResolution.Failed(handle, method, answer.Error, answer.Reason);
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(answer.Body).Trim();
        }
        catch (DecoderFallbackException)
        {
            return HandleResolution.Failed(handle, method, IdentityError.InvalidAnswer, "/.well-known/atproto-did is not UTF-8 text");
        }
        return DidSyntax.IsValid(text)
            ? HandleResolution.Resolved(handle, text, method)
            : HandleResolution.Failed(handle, method, IdentityError.InvalidAnswer, "/.well-known/atproto-did does not hold a valid DID");
    }

    private async Task<HandleResolution> ResolveWithDnsAsync(string handle, CancellationToken ct)
    {
        const string method = "dns";
        var name = "_atproto." + handle;
        if (_dns.Value is not { } dns)
            return HandleResolution.Failed(handle, method, IdentityError.Unavailable, "no DNS name server is configured");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Settings.Timeout);
        try
        {
            var response = await dns.QueryAsync(name, QueryType.TXT, QueryClass.IN, timeout.Token).ConfigureAwait(false);
            if (response.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain)
                return HandleResolution.Failed(handle, method, IdentityError.NotFound, $"{name} does not exist");
            if (response.HasError)
                return HandleResolution.Failed(handle, method, IdentityError.Unavailable, $"the name server answered {response.Header.ResponseCode} for {name}");
            var dids = response.Answers.TxtRecords()
                .Select(r => string.Concat(r.Text))
                .Where(t => t.StartsWith("did=", StringComparison.Ordinal))
                .Select(t => t["did=".Length..])
                .Distinct(StringComparer.Ordinal)
                .ToList();
            return dids switch
            {
                [] => HandleResolution.Failed(handle, method, IdentityError.NotFound, $"{name} has no did= TXT record"),
                [var did] when DidSyntax.IsValid(did) => HandleResolution.Resolved(handle, did, method),
                [_] => HandleResolution.Failed(handle, method, IdentityError.InvalidAnswer, $"the did= TXT record of {name} is not a valid DID"),
                _ => HandleResolution.Failed(handle, DnsConflict, IdentityError.InvalidAnswer, $"{name} has {dids.Count} conflicting did= TXT records"),
            };
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return HandleResolution.Failed(handle, method, IdentityError.Timeout, $"no DNS answer for {name} within {Seconds}");
        }
        catch (DnsResponseException e) when (e.Code == DnsResponseCode.ConnectionTimeout)
        {
            return HandleResolution.Failed(handle, method, IdentityError.Timeout, $"no DNS answer for {name} within {Seconds}");
        }
        catch (DnsResponseException e) when (IsMalformed(e))
        {
            return HandleResolution.Failed(handle, method, IdentityError.InvalidAnswer, $"malformed DNS answer for {name}");
        }
        catch (DnsResponseException e)
        {
            return HandleResolution.Failed(handle, method, IdentityError.Unavailable, $"DNS query for {name} failed: {e.Code}");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // DnsClient reports a malformed or truncated answer with parse exceptions of its own.
            return HandleResolution.Failed(handle, method, IdentityError.InvalidAnswer, $"malformed DNS answer for {name}: {e.GetType().Name}");
        }
    }

    /// <summary>DnsClient wraps its parse failures (a malformed or truncated answer) into a DnsResponseException.</summary>
    private static bool IsMalformed(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is DnsResponseParseException) return true;
        }
        return false;
    }

    private LookupClient? CreateDnsClient()
    {
        try
        {
            var options = _dnsServers is { Count: > 0 } servers ? new LookupClientOptions(servers.ToArray()) : new LookupClientOptions();
            options.Timeout = Settings.Timeout;
            options.Retries = 0;
            options.UseCache = false;
            options.ThrowDnsErrors = false;
            options.UseTcpFallback = true;
            options.ContinueOnDnsError = false;
            return new LookupClient(options);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or System.Net.Sockets.SocketException or IOException)
        {
            return null;
        }
    }

    // ------------------------------------------------------------------ verification

    /// <summary>
    /// Whether <paramref name="claimedHandle"/> belongs to <paramref name="did"/>: both are valid syntax, the DID
    /// document (<paramref name="doc"/> when the caller has just resolved it, else resolved here) lists
    /// <c>at://HANDLE</c> in alsoKnownAs, and the handle resolves to the same DID.
    /// </summary>
    public async Task<HandleVerification> VerifyHandleAsync(string did, string claimedHandle, DidResolution? doc = null, CancellationToken ct = default)
    {
        HandleVerification Fail(HandleCheck check, IdentityError error, string reason, DidResolution? document = null) =>
            new(did, claimedHandle, check, error, reason, document);

        if (!DidSyntax.IsValid(did)) return Fail(HandleCheck.Syntax, IdentityError.InvalidSyntax, "not a valid did:plc or did:web identifier");
        if (!HandleSyntax.TryNormalize(claimedHandle, out var handle)) return Fail(HandleCheck.Syntax, IdentityError.InvalidSyntax, "not a valid handle");
        if (doc is not null && doc.Did != did) return Fail(HandleCheck.DidDocument, IdentityError.Mismatch, "the DID document given is another DID's");
        doc ??= await ResolveDidAsync(did, ct).ConfigureAwait(false);
        if (!doc.Succeeded) return Fail(HandleCheck.DidDocument, doc.Error, doc.Reason, doc);
        if (!doc.Claims(handle))
            return Fail(HandleCheck.AlsoKnownAs, IdentityError.Mismatch, $"the DID document does not list at://{handle} in alsoKnownAs", doc);
        var resolved = await ResolveHandleAsync(handle, ct).ConfigureAwait(false);
        if (!resolved.Succeeded) return Fail(HandleCheck.HandleResolution, resolved.Error, resolved.Reason, doc);
        if (resolved.Did != did)
            return Fail(HandleCheck.SameDid, IdentityError.Mismatch, $"the handle resolves to another DID ({resolved.Did}, by {resolved.Method})", doc);
        return new HandleVerification(did, handle, HandleCheck.None, IdentityError.None, $"verified by {resolved.Method}", doc);
    }

    // ------------------------------------------------------------------ HTTP

    private string Seconds => $"{Settings.Timeout.TotalSeconds:0.#} s";

    /// <summary>One GET, bounded in time and size; a failure is an error and a reason naming only the host.</summary>
    private async Task<HttpAnswer> GetAsync(Uri url, CancellationToken ct)
    {
        var host = url.Authority;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Settings.Timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Accept.ParseAdd("application/json, text/plain;q=0.9, */*;q=0.5");
            using var answer = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var status = (int)answer.StatusCode;
            if (status is >= 300 and < 400)
                return HttpAnswer.Failed(status, IdentityError.InvalidAnswer, $"{host} answered with a redirect ({status}), which is not followed");
            if (status is 404 or 410)
                return HttpAnswer.Failed(status, IdentityError.NotFound, $"{host} answered {status}: not found");
            if (status == 429 || status >= 500)
                return HttpAnswer.Failed(status, IdentityError.Unavailable, $"{host} answered {status}");
            var body = await ReadBoundedAsync(answer, timeout.Token).ConfigureAwait(false);
            if (body is null)
                return HttpAnswer.Failed(status, IdentityError.InvalidAnswer, $"the answer from {host} is larger than {MaxAnswerBytes / 1024} KiB");
            if (status == 400) return new HttpAnswer(status, body, IdentityError.InvalidAnswer, $"{host} answered 400");
            if (status is < 200 or >= 300)
                return HttpAnswer.Failed(status, IdentityError.InvalidAnswer, $"{host} answered {status}");
            if (answer.Content.Headers.ContentType?.MediaType == "text/html")
                return HttpAnswer.Failed(status, IdentityError.InvalidAnswer, $"{host} answered with an HTML page");
            return new HttpAnswer(status, body, IdentityError.None, "");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return HttpAnswer.Failed(0, IdentityError.Timeout, $"no answer from {host} within {Seconds}");
        }
        catch (HttpRequestException e)
        {
            return HttpAnswer.Failed(0, IdentityError.Unavailable, $"{host}: {Pds.OutboundAddresses.Reason(e)}");
        }
        catch (IOException)
        {
            return HttpAnswer.Failed(0, IdentityError.Unavailable, $"{host}: connection lost");
        }
    }

    private static async Task<byte[]?> ReadBoundedAsync(HttpResponseMessage answer, CancellationToken ct)
    {
        if (answer.Content.Headers.ContentLength > MaxAnswerBytes) return null;
        await using var stream = await answer.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var buffer = new byte[MaxAnswerBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false)) > 0) length += read;
        return length > MaxAnswerBytes ? null : buffer[..length];
    }

    /// <summary>The <c>error</c> name of an XRPC error body, when it is a short identifier; else "no error name".</summary>
    private static string ErrorName(byte[] body)
    {
        try
        {
            using var parsed = JsonDocument.Parse(body);
            if (parsed.RootElement.ValueKind == JsonValueKind.Object
                && SessionGrant.OptionalString(parsed.RootElement, "error") is { Length: > 0 and <= 64 } name
                && name.All(char.IsAsciiLetterOrDigit))
                return name;
        }
        catch (JsonException)
        {
            // not an XRPC error body
        }
        return "no error name";
    }

    private sealed record HttpAnswer(int Status, byte[] Body, IdentityError Error, string Reason)
    {
        public static HttpAnswer Failed(int status, IdentityError error, string reason) => new(status, [], error, reason);
    }
}
