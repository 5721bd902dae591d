using Supervisor.Host.Http;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// A PDS's caching header on an answer to a request with credentials is made private for every shared cache (README,
/// "Answers"): <c>public</c>, <c>s-maxage</c> and a <c>private</c> naming fields go, a bare <c>private</c> comes first.
/// </summary>
public sealed class CacheControlSpec
{
    [Theory]
    [InlineData("public, s-maxage=600, max-age=60", "private, max-age=60")]
    [InlineData("max-age=3600, must-revalidate, private=\"x\"", "private, max-age=3600, must-revalidate")]
    [InlineData("private=\"set-cookie, x-rev\", max-age=60", "private, max-age=60")]
    [InlineData("PRIVATE = \"x\", max-age=60, Public", "private, max-age=60")]
    [InlineData("no-cache=\"a, b\", max-age=5", "private, no-cache=\"a, b\", max-age=5")]
    [InlineData("private, max-age=60", "private, max-age=60")]
    [InlineData("no-store", "no-store")]
    public void A_caching_header_is_made_private_for_every_shared_cache(string fromThePds, string answered) =>
        Assert.Equal(answered, SecurityHeaders.Private(fromThePds));
}
