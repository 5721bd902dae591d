using System.Security.Cryptography;
using System.Text;
using Supervisor.Actors.Clients;

namespace Supervisor.Actors.Tests.Clients;

/// <summary>
/// SUPERVISOR_TRUSTED_CLIENTS as the nodes read it: each client by name and the SHA-256 of its secret; an entry that is
/// not one is refused by its position, never quoted (an operator may have pasted the secret itself).
/// </summary>
public sealed class TrustedClientsSpec
{
    private static string Digest(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    [Fact]
    public void A_client_is_trusted_with_its_own_secret_only()
    {
        var trusted = TrustedClients.Parse($" ops = {Digest("ops-secret-0123456789abcdef")} ,audit={Digest("audit-secret-0123456789abcdef").ToLowerInvariant()}");
        Assert.Equal(2, trusted.Count);
        Assert.True(trusted.Verify("ops", "ops-secret-0123456789abcdef"));
        Assert.True(trusted.Verify("audit", "audit-secret-0123456789abcdef"));
        Assert.False(trusted.Verify("ops", "audit-secret-0123456789abcdef"));
        Assert.False(trusted.Verify("Ops", "ops-secret-0123456789abcdef"));
        Assert.False(trusted.Verify("nobody", "ops-secret-0123456789abcdef"));
        Assert.False(TrustedClients.Parse(null).Verify("ops", "ops-secret-0123456789abcdef"));
        Assert.Equal(0, TrustedClients.Parse(" ").Count);
    }

    [Theory]
    [InlineData("ops=plain-secret-instead-of-its-digest")]
    [InlineData("ops")]
    [InlineData("=0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("ops=000000000000000000000000000000000000000000000000000000000000000g")]
    public void An_entry_that_is_not_a_name_and_a_digest_is_refused_without_being_quoted(string entry)
    {
        var refused = Assert.Throws<FormatException>(() => TrustedClients.Parse($"audit={Digest("x")},{entry}"));
        Assert.Contains("entry 2", refused.Message);
        Assert.DoesNotContain("plain-secret", refused.Message);
    }

    [Fact]
    public void A_client_named_twice_is_refused()
    {
        var refused = Assert.Throws<FormatException>(() => TrustedClients.Parse($"ops={Digest("a")},ops={Digest("b")}"));
        Assert.Contains("'ops' is named twice", refused.Message);
    }
}
