using System.Text;
using System.Text.Json;

namespace Supervisor.Actors.Session;

/// <summary>
/// The claims the supervisor reads from an atproto session JWT, without verifying its signature
/// (only the PDS can do that): type, subject, scope, issue and expiry times, and the refresh token's id.
/// </summary>
public sealed record JwtClaims(
    string? Type,
    string? Subject,
    string? Scope,
    string? Audience,
    DateTimeOffset? IssuedAt,
    DateTimeOffset ExpiresAt,
    string? TokenId)
{
    /// <summary>The earliest <c>exp</c> or <c>iat</c> accepted: 2000-01-01T00:00:00Z as Unix seconds.</summary>
    public const long EarliestTime = 946_684_800;

    /// <summary>The latest <c>exp</c> or <c>iat</c> accepted: 2200-01-01T00:00:00Z as Unix seconds.</summary>
    public const long LatestTime = 7_258_118_400;

    /// <summary>
    /// The longest token read (characters): a PDS's are a few hundred; one of megabytes would be journaled at every
    /// refresh, held by its account and sent with every request.
    /// </summary>
    public const int LongestToken = 16 * 1024;

    /// <summary>The token's lifetime as issued, when the issue time is known.</summary>
    public TimeSpan? Lifetime => IssuedAt is { } iat ? ExpiresAt - iat : null;

    /// <summary>
    /// Reads the header and payload of a compact JWT. Returns null and a reason that never contains
    /// the token itself when the text is not a JWT with an <c>exp</c> claim, or when its <c>exp</c> or
    /// <c>iat</c> lies outside <see cref="EarliestTime"/>..<see cref="LatestTime"/> (checked before any date
    /// arithmetic, so no later computation on the claims can overflow) or its <c>iat</c> is after its <c>exp</c>.
    /// </summary>
    public static JwtClaims? TryRead(string? jwt, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(jwt))
        {
            problem = "is empty";
            return null;
        }
        if (jwt.Length > LongestToken)
        {
            problem = $"is longer than {LongestToken} characters ({jwt.Length})";
            return null;
        }
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            problem = $"is not a JWT (expected 3 dot-separated parts, found {parts.Length})";
            return null;
        }
        try
        {
            using var header = JsonDocument.Parse(DecodeSegment(parts[0]));
            using var payload = JsonDocument.Parse(DecodeSegment(parts[1]));
            if (header.RootElement.ValueKind != JsonValueKind.Object || payload.RootElement.ValueKind != JsonValueKind.Object)
            {
                problem = "is not a JWT (header or payload is not a JSON object)";
                return null;
            }
            var claims = payload.RootElement;
            if (!claims.TryGetProperty("exp", out var exp) || exp.ValueKind != JsonValueKind.Number)
            {
                problem = "has no numeric exp claim";
                return null;
            }
            if (SecondsOf(exp) is not { } expiresAt)
            {
                problem = "has an exp claim outside 2000-01-01..2200-01-01";
                return null;
            }
            long? issuedAt = null;
            if (claims.TryGetProperty("iat", out var iat) && iat.ValueKind == JsonValueKind.Number)
            {
                issuedAt = SecondsOf(iat);
                if (issuedAt is null)
                {
                    problem = "has an iat claim outside 2000-01-01..2200-01-01";
                    return null;
                }
                if (issuedAt > expiresAt)
                {
                    problem = "has an iat claim after its exp claim";
                    return null;
                }
            }
            return new JwtClaims(
                Type: SharedStrings.Of(StringOf(header.RootElement, "typ")),
                Subject: StringOf(claims, "sub"),
                Scope: SharedStrings.Of(StringOf(claims, "scope")),
                Audience: SharedStrings.Of(StringOf(claims, "aud")),
                IssuedAt: issuedAt is { } i ? DateTimeOffset.FromUnixTimeSeconds(i) : null,
                ExpiresAt: DateTimeOffset.FromUnixTimeSeconds(expiresAt),
                TokenId: StringOf(claims, "jti"));
        }
        catch (Exception e) when (e is FormatException or JsonException or ArgumentException or OverflowException or InvalidOperationException)
        {
            problem = "is not a JWT (its header or payload is not base64url-encoded JSON)";
            return null;
        }
    }

    /// <summary>
    /// A NumericDate claim as whole Unix seconds, or null when it is not a finite number within
    /// <see cref="EarliestTime"/>..<see cref="LatestTime"/> (fractions, as RFC 7519 allows, are cut).
    /// </summary>
    private static long? SecondsOf(JsonElement value)
    {
        double seconds;
        if (value.TryGetInt64(out var whole)) seconds = whole;
        else if (!value.TryGetDouble(out seconds) || !double.IsFinite(seconds)) return null;
        return seconds >= EarliestTime && seconds <= LatestTime ? (long)Math.Floor(seconds) : null;
    }

    private static string? StringOf(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static byte[] DecodeSegment(string segment)
    {
        var s = segment.Replace('-', '+').Replace('_', '/');
        s = (s.Length % 4) switch
        {
            2 => s + "==",
            3 => s + "=",
            0 => s,
            _ => throw new FormatException("bad base64url length"),
        };
        return Convert.FromBase64String(s);
    }

    /// <summary>Encodes bytes as unpadded base64url (used by tests and by the fake PDS).</summary>
    public static string EncodeSegment(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Encodes UTF-8 text as unpadded base64url.</summary>
    public static string EncodeSegment(string text) => EncodeSegment(Encoding.UTF8.GetBytes(text));
}
