using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>What passes for a method name (NSID) before a request leaves for a PDS: anything else is refused as InvalidRequest.</summary>
public sealed class NsidSpec
{
    [Theory]
    [InlineData("com.atproto.server.getSession")]
    [InlineData("app.bsky.feed.getTimeline")]
    [InlineData("a.b.c")]
    [InlineData("com.example-site.do-it2")]
    public void A_method_of_three_or_more_segments_of_letters_digits_and_hyphens_is_an_NSID(string nsid) =>
        Assert.True(XrpcRequest.IsValidNsid(nsid));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("com.atproto")]
    [InlineData("com..atproto.getSession")]
    [InlineData(".com.atproto.getSession")]
    [InlineData("com.atproto.getSession.")]
    [InlineData("com.atproto.get_session")]
    [InlineData("com.atproto.get session")]
    [InlineData("com.atproto.get/../session")]
    [InlineData("com.atproto.getSession?x=1")]
    [InlineData("com.atpröto.getSession")]
    public void Anything_else_is_not(string? nsid) =>
        Assert.False(XrpcRequest.IsValidNsid(nsid));

    [Fact]
    public void An_NSID_is_at_most_317_characters()
    {
        var longest = "a." + new string('b', 313) + ".c";
        Assert.Equal(317, longest.Length);
        Assert.True(XrpcRequest.IsValidNsid(longest));
        Assert.False(XrpcRequest.IsValidNsid("a." + new string('b', 314) + ".c"));
    }
}
