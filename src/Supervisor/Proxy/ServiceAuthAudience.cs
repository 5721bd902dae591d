using Microsoft.Extensions.Primitives;

namespace Supervisor.Host.Proxy;

/// <summary>
/// A <c>com.atproto.server.getServiceAuth</c> whose <c>aud</c> names the supervisor itself. Bluesky's recipe for video
/// asks its PDS for a token with <c>aud: did:web:${agent.dispatchUrl.host}</c>, meaning the PDS; a client pointed at the
/// supervisor would name the supervisor, and the token, refused by the PDS when the video service uploads with it, would
/// be worthless. Such an audience (<c>did:web:</c> and the request's Host, its port as written or as <c>%3A</c>, in any
/// case) is sent as the account's PDS's service DID; any other goes as it came.
/// </summary>
public static class ServiceAuthAudience
{
    /// <summary>The method whose audience is read.</summary>
    public const string Method = "com.atproto.server.getServiceAuth";

    /// <summary>True when <paramref name="request"/> asks for a service token whose audience is this supervisor.</summary>
    public static bool NamesSupervisor(string nsid, HttpRequest request)
    {
        if (!string.Equals(nsid, Method, StringComparison.OrdinalIgnoreCase) || !request.Host.HasValue) return false;
        if (request.Query["aud"] is not { Count: 1 } aud || aud[0] is not { } named) return false;
        var host = request.Host.Value!;
        return string.Equals(named, "did:web:" + host, StringComparison.OrdinalIgnoreCase)
               || string.Equals(named, "did:web:" + host.Replace(":", "%3A", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The query of <paramref name="request"/> with <paramref name="did"/> as its <c>aud</c>, the rest as it came.</summary>
    public static string WithAudience(HttpRequest request, string did) =>
        QueryString.Create(request.Query.Select(p => string.Equals(p.Key, "aud", StringComparison.OrdinalIgnoreCase) ? new KeyValuePair<string, StringValues>(p.Key, did) : p)).Value ?? "";
}
