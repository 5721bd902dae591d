using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Session;

/// <summary>A service URL is plain http(s): credentials, a query or a fragment are refused without being repeated.</summary>
public sealed class ServiceUrlSpec
{
    private const string Did = "did:plc:abcdefghijklmnopqrstuvwx";

    [Theory]
    [InlineData("https://user:s3cret-pass@pds.example")]
    [InlineData("https://user:s3cret-pass@pds.example/")]
    [InlineData("http://s3cret-pass@pds.example:2583")]
    public void A_url_with_credentials_is_refused_and_the_error_does_not_contain_them(string url)
    {
        Assert.False(ServiceUrl.TryNormalize(url, out var normalized, out var problem));
        Assert.Equal("", normalized);
        Assert.Equal("must not contain a user name or password", problem);

        var tokens = TestJwt.Pair(Did, DateTimeOffset.UtcNow);
        var refused = Assert.Throws<SessionFormatException>(() => ImportedSession.Parse($"alice.test:::{Did}:::{tokens.AccessJwt}:::{tokens.RefreshJwt}:::{url}"));
        Assert.Equal("'pdsEndpoint' must not contain a user name or password", refused.Message);
        Assert.DoesNotContain("s3cret", refused.Message);
    }

    [Theory]
    [InlineData("https://bsky.social", "https://bsky.social")]
    [InlineData("https://BSKY.social./", "https://bsky.social")]
    [InlineData("https://bsky.social.:443", "https://bsky.social")]
    [InlineData("http://pds.example.:2583/", "http://pds.example:2583")]
    [InlineData("https://bücher.example", "https://xn--bcher-kva.example")]
    public void A_server_has_one_spelling_whatever_its_case_trailing_dot_or_script(string url, string expected)
    {
        Assert.True(ServiceUrl.TryNormalize(url, out var normalized, out _));
        Assert.Equal(expected, normalized);
        Assert.Equal(Supervisor.Actors.Limits.LoginBudget.Key("https://bsky.social", "alice.test"),
            Supervisor.Actors.Limits.LoginBudget.Key(ServiceUrl.Require("https://bsky.social./", "service"), "alice.test"));
    }

    [Theory]
    [InlineData("https://pds.example/?token=abc")]
    [InlineData("https://pds.example/#frag")]
    [InlineData("https://pds.example?")]
    public void A_url_with_a_query_or_a_fragment_is_refused(string url)
    {
        Assert.False(ServiceUrl.TryNormalize(url, out _, out var problem));
        Assert.Equal("must not have a query or a fragment", problem);
        Assert.Equal("'service' must not have a query or a fragment", Assert.Throws<SessionFormatException>(() => ServiceUrl.Require(url, "service")).Message);
    }

    [Theory]
    [InlineData("ftp://pds.example")]
    [InlineData("file:///etc/passwd")]
    [InlineData("pds.example")]
    [InlineData("")]
    public void Only_absolute_http_and_https_urls_are_accepted(string url)
    {
        Assert.False(ServiceUrl.TryNormalize(url, out _, out var problem));
        Assert.Equal("is not an absolute http(s) URL", problem);
    }

    [Theory]
    [InlineData("https://pds.example/", "https://pds.example")]
    [InlineData(" http://127.0.0.1:2583 ", "http://127.0.0.1:2583")]
    [InlineData("https://pds.example/base/", "https://pds.example/base")]
    public void A_plain_url_is_normalized_without_its_trailing_slash(string url, string expected)
    {
        Assert.True(ServiceUrl.TryNormalize(url, out var normalized, out var problem));
        Assert.Null(problem);
        Assert.Equal(expected, normalized);
    }
}
