using System.Net;
using System.Text;
using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>The headers that pass between a client and its PDS: the XRPC ones, both ways; never credentials or cookies.</summary>
public sealed class XrpcHeadersSpec
{
    [Fact]
    public void A_callers_xrpc_headers_pass_and_its_credentials_and_cookies_do_not()
    {
        var picked = XrpcHeaders.PickRequest(new Dictionary<string, string>
        {
            ["atproto-proxy"] = "did:web:api.bsky.app#bsky_appview",
            ["x-bsky-topics"] = "dev,art",
            ["Accept-Language"] = "fr, en;q=0.5",
            ["Authorization"] = "Bearer not-for-the-pds",
            ["Cookie"] = "session=1",
            ["X-Forwarded-For"] = "10.0.0.1",
        });
        Assert.Equal(["Accept-Language", "atproto-proxy", "x-bsky-topics"], picked.Keys.Order(StringComparer.OrdinalIgnoreCase));
    }

    [Fact]
    public void A_PDS_answers_xrpc_headers_pass_back_and_its_cookies_and_unsafe_values_do_not()
    {
        using var answer = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("{}")) };
        answer.Headers.TryAddWithoutValidation("atproto-repo-rev", "3lbc");
        answer.Headers.TryAddWithoutValidation("Atproto-Upstream-Lag", "12");
        answer.Headers.TryAddWithoutValidation("Set-Cookie", "a=b");
        answer.Headers.TryAddWithoutValidation("ETag", "\"x\u00e9\"");
        answer.Content.Headers.TryAddWithoutValidation("Content-Language", "en");
        var picked = XrpcHeaders.PickResponse(answer);
        Assert.Equal(("3lbc", "12", "en"), (picked["atproto-repo-rev"], picked["Atproto-Upstream-Lag"], picked["Content-Language"]));
        Assert.False(picked.ContainsKey("Set-Cookie"));
        Assert.False(picked.ContainsKey("ETag"));
    }
}
