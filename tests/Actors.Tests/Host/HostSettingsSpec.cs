using Supervisor.Host.Configuration;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The host's own settings: where it may listen, and what they show when written out.</summary>
public sealed class HostSettingsSpec
{
    private static HostSettings With(bool generatedToken) =>
        new(Path.GetTempPath(), JournalKind.Sqlite, "Data Source=x", "token", generatedToken, []);

    [Theory]
    [InlineData("http://127.0.0.1:5080")]
    [InlineData("http://localhost:5080")]
    [InlineData("http://[::1]:5080")]
    [InlineData("http://127.0.0.2:5080/")]
    public void A_generated_admin_token_allows_loopback_addresses(string url) => With(generatedToken: true).CheckListenAddresses([url]);

    [Theory]
    [InlineData("http://0.0.0.0:5080")]
    [InlineData("http://*:5080")]
    [InlineData("http://+:5080")]
    [InlineData("http://192.168.1.10:5080")]
    [InlineData("http://[::]:5080")]
    [InlineData("http://example.org:5080")]
    public void A_generated_admin_token_refuses_any_other_address(string url)
    {
        var e = Assert.Throws<InvalidOperationException>(() => With(generatedToken: true).CheckListenAddresses(["http://127.0.0.1:1", url]));
        Assert.Contains("SUPERVISOR_ADMIN_TOKEN", e.Message);
        With(generatedToken: false).CheckListenAddresses([url]);
    }

    [Fact]
    public void The_settings_written_out_show_none_of_their_secrets()
    {
        var settings = new HostSettings(Path.GetTempPath(), JournalKind.Postgres, "Host=db;Username=supervisor;Password=pg-secret-in-the-string",
            "admin-token-of-twenty-four-chars", false, ["token-key-base64-value=="], "operator-password-of-24-chars");
        var shown = settings.ToString();
        foreach (var secret in new[] { "pg-secret-in-the-string", "admin-token-of-twenty-four-chars", "token-key-base64-value==", "operator-password-of-24-chars" })
            Assert.False(shown.Contains(secret, StringComparison.Ordinal), "a secret is written out");
        Assert.Contains(Path.GetTempPath(), shown);
    }
}
