using System.Globalization;
using System.Net.Http.Headers;

namespace Supervisor.Actors.Pds;

/// <summary>The <c>RateLimit-*</c> headers of one answer (the reference PDS sends them when its limits are on).</summary>
public sealed record RateLimitInfo(int? Limit, int? Remaining, DateTimeOffset? Reset, string? Policy)
{
    /// <summary>Reads the headers, or null when the answer carries none.</summary>
    public static RateLimitInfo? From(HttpResponseHeaders headers)
    {
        var limit = Int(headers, "RateLimit-Limit");
        var remaining = Int(headers, "RateLimit-Remaining");
        var reset = Int(headers, "RateLimit-Reset");
        var policy = headers.TryGetValues("RateLimit-Policy", out var p) ? p.FirstOrDefault() : null;
        if (limit is null && remaining is null && reset is null && policy is null) return null;
        return new RateLimitInfo(limit, remaining, reset is { } r ? DateTimeOffset.FromUnixTimeSeconds(r) : null, policy);
    }

    private static int? Int(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values)
        && int.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;
}
