using System.Collections.Immutable;
using System.Net.Http.Headers;

namespace Supervisor.Actors.Pds;

/// <summary>
/// The headers that pass between a client and its PDS through the supervisor, both ways, by allow-list
/// (README, "Requests through the supervisor"). Nothing else passes: not the caller's Authorization or
/// cookies, not hop-by-hop headers, not Host or X-Forwarded-*. A value passes only when it is visible ASCII
/// (with spaces and tabs), so a server cannot put into an answer of ours what Kestrel would refuse to write.
/// </summary>
public static class XrpcHeaders
{
    /// <summary>Request headers a client may set for its PDS (besides Content-Type, which goes with the body).</summary>
    public static readonly ImmutableArray<string> Request =
    [
        "atproto-proxy", "atproto-accept-labelers", "x-bsky-topics", "Accept", "Accept-Language", "Accept-Encoding",
        "Content-Encoding", "If-None-Match", "If-Modified-Since",
    ];

    /// <summary>Answer headers passed back to the client (besides Content-Type and Content-Length).</summary>
    public static readonly ImmutableArray<string> Response =
    [
        "Content-Language", "Content-Encoding", "atproto-content-labelers", "atproto-repo-rev", "Atproto-Upstream-Lag",
        "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy", "Retry-After",
        "Cache-Control", "ETag", "Last-Modified", "Expires", "Vary",
    ];

    private static readonly HashSet<string> RequestSet = new(Request, StringComparer.OrdinalIgnoreCase);

    /// <summary>True for a value made of visible ASCII, spaces and tabs only (and at most 8 KiB).</summary>
    public static bool IsSafeValue(string? value)
    {
        if (value is not { Length: <= 8192 }) return false;
        foreach (var c in value)
            if (c is not ('\t' or >= ' ' and <= '~')) return false;
        return true;
    }

    /// <summary>The allowed request headers of a caller, by name; unsafe values are left out.</summary>
    public static IReadOnlyDictionary<string, string> PickRequest(IEnumerable<KeyValuePair<string, string>> headers) =>
        Pick(headers, RequestSet);

    /// <summary>
    /// The allowed headers of an answer (headers and content headers together), as the server wrote them; unsafe values
    /// are left out. Only the allowed names are looked up, unparsed (the other headers of the answer cost nothing).
    /// </summary>
    public static IReadOnlyDictionary<string, string> PickResponse(HttpResponseMessage answer)
    {
        Dictionary<string, string>? picked = null;
        foreach (var name in Response)
        {
            // A name is either a response header or a content header; a server's answer has it in one of the two.
            if (!answer.Headers.NonValidated.TryGetValues(name, out var values) && !answer.Content.Headers.NonValidated.TryGetValues(name, out values))
                continue;
            var value = values.ToString();
            if (IsSafeValue(value)) (picked ??= new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase))[name] = value;
        }
        return picked ?? NonePicked;
    }

    /// <summary>A content type the supervisor can pass on: a well-formed media type, or null.</summary>
    public static MediaTypeHeaderValue? ParseContentType(string? value) =>
        IsSafeValue(value) && MediaTypeHeaderValue.TryParse(value, out var parsed) && parsed.MediaType is { Length: > 0 } ? parsed : null;

    private static readonly IReadOnlyDictionary<string, string> NonePicked = new Dictionary<string, string>();

    private static Dictionary<string, string> Pick(IEnumerable<KeyValuePair<string, string>> headers, HashSet<string> allowed)
    {
        var picked = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers)
            if (allowed.Contains(name) && IsSafeValue(value)) picked[name] = value;
        return picked;
    }
}
