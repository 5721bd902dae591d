using System.Security.Cryptography;
using Supervisor.Host.Proxy;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>Key sessions' tokens: signed with the current token key's, accepted with a former one's, refused otherwise.</summary>
public sealed class SessionJwtSpec
{
    private const string Did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly string Old = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string New = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void A_token_signed_before_a_key_rotation_is_still_accepted_and_one_of_another_key_never()
    {
        var beforeRotation = SessionJwt.FromTokenKeys([Old]).Mint(true, Did, "sid-1", "jti-1", "com.atproto.appPass", Now, Now.AddDays(90));
        var rotated = SessionJwt.FromTokenKeys([New, Old]);
        var claims = rotated.Verify(beforeRotation, Now, out var error);
        Assert.Null(error);
        Assert.Equal(("refresh+jwt", Did, "sid-1", "jti-1"), (claims!.Type, claims.Did, claims.Sid, claims.Jti));

        // Once the old key is dropped, and for a key the nodes never had: refused.
        Assert.Null(SessionJwt.FromTokenKeys([New]).Verify(beforeRotation, Now, out error));
        Assert.Equal("InvalidToken", error);
        var stranger = SessionJwt.FromTokenKeys([Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))]).Mint(false, Did, "sid-2", null, "com.atproto.access", Now, Now.AddHours(2));
        Assert.Null(rotated.Verify(stranger, Now, out error));
        Assert.Equal("InvalidToken", error);

        // New tokens are signed with the new key.
        var after = rotated.Mint(false, Did, "sid-1", null, "com.atproto.appPass", Now, Now.AddHours(2));
        Assert.NotNull(SessionJwt.FromTokenKeys([New]).Verify(after, Now, out _));
        Assert.Null(SessionJwt.FromTokenKeys([Old]).Verify(after, Now, out _));
    }
}
