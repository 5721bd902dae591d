using System.Globalization;
using System.Net.Http.Headers;

namespace Supervisor.Actors.Pds;

/// <summary>
/// Reads the <c>RateLimit-*</c> headers of one answer (the reference PDS sends them when its limits are on) into a
/// <see cref="RateLimitInfo"/>, defensively: a value that is not a plain non-negative number in range is ignored, and the
/// policy is kept only when it is short visible ASCII, so that nothing from a server can break a header it is copied into.
/// </summary>
public static class RateLimitHeaders
{
    /// <summary>
    /// A <c>RateLimit-Reset</c> below this is delta-seconds from now (the IETF draft); from it on, Unix time
    /// (the reference PDS).
    /// </summary>
    public const long UnixTimeFrom = 1_000_000_000;

    /// <summary>The longest <c>RateLimit-Policy</c> kept.</summary>
    public const int MaxPolicyLength = 256;

    /// <summary>The latest Unix time a <see cref="DateTimeOffset"/> can hold (9999-12-31T23:59:59Z).</summary>
    private const long LatestUnixTime = 253_402_300_799;

    /// <summary>Reads the headers of an answer received at <paramref name="now"/>, or null when it carries none that are usable.</summary>
    public static RateLimitInfo? Read(HttpResponseHeaders headers, DateTimeOffset now)
    {
        var limit = Count(headers, "RateLimit-Limit");
        var remaining = Count(headers, "RateLimit-Remaining");
        var reset = ResetOf(Number(headers, "RateLimit-Reset"), now);
        var policy = headers.TryGetValues("RateLimit-Policy", out var p) ? Visible(p.FirstOrDefault()) : null;
        var retryAfter = RetryAfterOf(headers, now);
        if (limit is null && remaining is null && reset is null && policy is null && retryAfter is null) return null;
        return new RateLimitInfo(limit, remaining, reset, policy, retryAfter);
    }

    /// <summary><c>Retry-After</c> as delta-seconds or an HTTP date, else null.</summary>
    private static DateTimeOffset? RetryAfterOf(HttpResponseHeaders headers, DateTimeOffset now)
    {
        if (Number(headers, "Retry-After") is { } seconds) return seconds < UnixTimeFrom ? ResetOf(seconds, now) : null;
        return headers.RetryAfter?.Date is { } date && date.Year < 9999 ? date.ToUniversalTime() : null;
    }

    private static DateTimeOffset? ResetOf(long? value, DateTimeOffset now) => value switch
    {
        null => null,
        < UnixTimeFrom => now.UtcTicks + value.Value * TimeSpan.TicksPerSecond <= DateTimeOffset.MaxValue.UtcTicks
            ? now.ToUniversalTime().AddSeconds(value.Value)
            : null,
        <= LatestUnixTime => DateTimeOffset.FromUnixTimeSeconds(value.Value),
        _ => null,
    };

    private static int? Count(HttpResponseHeaders headers, string name) =>
        Number(headers, name) is { } value && value <= int.MaxValue ? (int)value : null;

    /// <summary>The header as a non-negative whole number of ASCII digits (surrounding spaces allowed), else null.</summary>
    private static long? Number(HttpResponseHeaders headers, string name)
    {
        if (!headers.TryGetValues(name, out var values) || values.FirstOrDefault()?.Trim(' ', '\t') is not { Length: > 0 and <= 18 } text) return null;
        foreach (var c in text)
            if (c is < '0' or > '9') return null;
        return long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>The value when it is non-empty visible ASCII (spaces inside allowed) and not too long, else null.</summary>
    private static string? Visible(string? value)
    {
        var text = value?.Trim(' ', '\t');
        if (text is not { Length: > 0 and <= MaxPolicyLength }) return null;
        foreach (var c in text)
            if (c is < ' ' or > '~') return null;
        return text;
    }
}
