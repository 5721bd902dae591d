using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Supervisor.Actors.Session;

namespace Supervisor.Host.Proxy;

/// <summary>
/// The tokens of key sessions (createSession at the supervisor's <c>/xrpc</c>): JWT-shaped like a PDS's (HS256,
/// <c>at+jwt</c> / <c>refresh+jwt</c>, <c>sub</c>, <c>scope</c>, <c>iat</c>, <c>exp</c>, and <c>jti</c> on refresh
/// tokens), so that clients which read their expiry (the Python SDK) work; they also carry the key session id
/// (<c>sid</c>). They are signed with a key derived from the token key (nodes that share SUPERVISOR_KEY accept each
/// other's) and are worth nothing at the PDS: they are never the PDS's tokens. Those signed with a key derived from one
/// of the former token keys (<c>SUPERVISOR_OLD_KEYS</c>) are still accepted, so a key rotation ends no key session.
/// </summary>
public sealed class SessionJwt(byte[] signingKey, IReadOnlyList<byte[]>? formerKeys = null)
{
    /// <summary>The audience of every key-session token.</summary>
    public const string Audience = "supervisor";

    /// <summary>JSON as a PDS writes it (no escaping of '+' in "at+jwt").</summary>
    private static readonly JsonSerializerOptions Plain = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// A signer whose key is derived from the current token key, the first of <paramref name="tokenKeys"/> (each base64
    /// of 32 bytes); the others are former ones, whose tokens are still accepted.
    /// </summary>
    public static SessionJwt FromTokenKeys(IReadOnlyList<string> tokenKeys) =>
        new(Derive(tokenKeys[0]), tokenKeys.Skip(1).Select(Derive).ToList());

    private static byte[] Derive(string tokenKey) =>
        HMACSHA256.HashData(Convert.FromBase64String(tokenKey), Encoding.UTF8.GetBytes("supervisor key sessions v1"));

    /// <summary>What a verified token says.</summary>
    public sealed record Claims(string Type, string Did, string Sid, string? Jti, DateTimeOffset ExpiresAt);

    /// <summary>Mints an access token (<paramref name="jti"/> null) or a refresh token.</summary>
    public string Mint(bool refresh, string did, string sid, string? jti, string scope, DateTimeOffset now, DateTimeOffset expiresAt)
    {
        var header = new JsonObject { ["typ"] = refresh ? "refresh+jwt" : "at+jwt", ["alg"] = "HS256" };
        var payload = new JsonObject
        {
            ["scope"] = refresh ? "com.atproto.refresh" : scope,
            ["aud"] = Audience,
            ["sub"] = did,
            ["sid"] = sid,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = expiresAt.ToUnixTimeSeconds(),
        };
        if (jti is not null) payload["jti"] = jti;
        var signed = JwtClaims.EncodeSegment(header.ToJsonString(Plain)) + "." + JwtClaims.EncodeSegment(payload.ToJsonString(Plain));
        return signed + "." + JwtClaims.EncodeSegment(HMACSHA256.HashData(signingKey, Encoding.ASCII.GetBytes(signed)));
    }

    /// <summary>
    /// Verifies a token: null with <paramref name="error"/> "InvalidToken" when it is not one of ours (or is
    /// altered), "ExpiredToken" when it is past its expiry.
    /// </summary>
    public Claims? Verify(string token, DateTimeOffset now, out string? error)
    {
        error = "InvalidToken";
        if (token.Length > 4096 || token.AsSpan().Count('.') != 2) return null;
        var parts = token.Split('.');
        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(Pad(parts[2].Replace('-', '+').Replace('_', '/')));
        }
        catch (FormatException)
        {
            return null;
        }
        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        if (!SignedWith(signingKey) && (formerKeys is null || !formerKeys.Any(SignedWith))) return null;
        var claims = JwtClaims.TryRead(token, out _);
        if (claims is null || claims.Subject is null || claims.Type is null) return null;
        using var payload = JsonDocument.Parse(Convert.FromBase64String(Pad(parts[1].Replace('-', '+').Replace('_', '/'))));
        if (!payload.RootElement.TryGetProperty("sid", out var sid) || sid.ValueKind != JsonValueKind.String) return null;
        if (claims.ExpiresAt <= now)
        {
            error = "ExpiredToken";
            return null;
        }
        error = null;
        return new Claims(claims.Type, claims.Subject, sid.GetString()!, claims.TokenId, claims.ExpiresAt);

        bool SignedWith(byte[] key) => CryptographicOperations.FixedTimeEquals(signature, HMACSHA256.HashData(key, signed));
    }

    private static string Pad(string s) => (s.Length % 4) switch
    {
        2 => s + "==",
        3 => s + "=",
        _ => s,
    };
}
