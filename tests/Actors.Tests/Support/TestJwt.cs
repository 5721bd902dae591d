using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Tests.Support;

/// <summary>Mints HS256 session JWTs shaped like the reference PDS's, for parsing and rules specs.</summary>
public static class TestJwt
{
    public static string Access(string did, DateTimeOffset exp, string scope = "com.atproto.access", DateTimeOffset? iat = null) =>
        Mint("at+jwt", did, scope, iat ?? exp - TimeSpan.FromHours(2), exp, jti: null);

    public static string Refresh(string did, DateTimeOffset exp, DateTimeOffset? iat = null, string? jti = null) =>
        Mint("refresh+jwt", did, "com.atproto.refresh", iat ?? exp - TimeSpan.FromDays(90), exp, jti ?? Guid.NewGuid().ToString("N"));

    public static SessionTokens Pair(string did, DateTimeOffset now, TimeSpan? accessLifetime = null, string scope = "com.atproto.access") =>
        SessionTokens.From(
            Access(did, now + (accessLifetime ?? TimeSpan.FromHours(2)), scope, now),
            Refresh(did, now + TimeSpan.FromDays(90), now));

    public static string Mint(string typ, string did, string scope, DateTimeOffset iat, DateTimeOffset exp, string? jti)
    {
        var header = new JsonObject { ["typ"] = typ, ["alg"] = "HS256" }.ToJsonString();
        var claims = new JsonObject
        {
            ["scope"] = scope,
            ["aud"] = "did:web:localhost",
            ["sub"] = did,
            ["iat"] = iat.ToUnixTimeSeconds(),
            ["exp"] = exp.ToUnixTimeSeconds(),
        };
        if (jti is not null) claims["jti"] = jti;
        var signingInput = JwtClaims.EncodeSegment(header) + "." + JwtClaims.EncodeSegment(claims.ToJsonString());
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes("test-secret"), Encoding.UTF8.GetBytes(signingInput));
        return signingInput + "." + JwtClaims.EncodeSegment(signature);
    }
}
