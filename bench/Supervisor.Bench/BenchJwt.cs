using System.Text.Json.Nodes;
using Supervisor.Actors.Session;

namespace Supervisor.Bench;

/// <summary>
/// Session JWTs shaped and sized like the reference PDS's (its access token 260 characters, its refresh token 338 at
/// did:web:localhost): the same claims, a random 32-byte jti and a random 32-byte signature that nothing here checks.
/// </summary>
public static class BenchJwt
{
    /// <summary>
    /// An access and a refresh token for <paramref name="did"/>; the access token expires at <paramref name="accessExp"/>,
    /// the refresh token at <paramref name="refreshExp"/> (90 days from <paramref name="now"/> by default).
    /// </summary>
    public static (string Access, string Refresh) Pair(string did, DateTimeOffset now, DateTimeOffset accessExp, DateTimeOffset? refreshExp = null) =>
        (Mint("at+jwt", did, "com.atproto.appPass", now, accessExp, null),
         Mint("refresh+jwt", did, "com.atproto.refresh", now, refreshExp ?? now + TimeSpan.FromDays(90), RandomSegment()));

    /// <summary>The <c>sub</c> claim of a token.</summary>
    public static string? Subject(string jwt) =>
        JwtClaims.TryRead(jwt, out _)?.Subject;

    private static string Mint(string typ, string did, string scope, DateTimeOffset iat, DateTimeOffset exp, string? jti)
    {
        var claims = new JsonObject
        {
            ["scope"] = scope, ["aud"] = "did:web:bench", ["sub"] = did,
            ["iat"] = iat.ToUnixTimeSeconds(), ["exp"] = exp.ToUnixTimeSeconds(),
        };
        if (jti is not null) claims["jti"] = jti;
        return JwtClaims.EncodeSegment(new JsonObject { ["typ"] = typ, ["alg"] = "HS256" }.ToJsonString()) + "."
               + JwtClaims.EncodeSegment(claims.ToJsonString()) + "." + RandomSegment();
    }

    /// <summary>32 random bytes in base64url, as an HS256 signature or the reference PDS's jti.</summary>
    private static string RandomSegment() => JwtClaims.EncodeSegment(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
}
