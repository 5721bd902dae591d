namespace Supervisor.Actors.Tests.FakePds;

/// <summary>An account on the fake PDS.</summary>
public sealed class FakeAccount(string did, string handle, string email, string password)
{
    public string Did { get; } = did;
    public string Handle { get; set; } = handle;
    public string Email { get; } = email;
    public string Password { get; } = password;
    public string? AuthFactorCode { get; set; }
    public bool TakenDown { get; set; }
    public bool Deactivated { get; set; }
}

/// <summary>A stored refresh token: its expiry (cut to the grace window once rotated) and its successor.</summary>
internal sealed class FakeRefreshToken(string did, DateTimeOffset expiresAt)
{
    public string Did { get; } = did;
    public DateTimeOffset ExpiresAt { get; set; } = expiresAt;
    public string? NextId { get; set; }
}
