using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>
/// The supervisor's own getSession (a key's, at <c>/xrpc</c>) reads the PDS's answer to rewrite it (without its DID
/// document): an answer longer than 64 KiB, which no session is, is not parsed but answered 502 InvalidResponse, since
/// its tree would cost many times its size for every such request a key holder sends.
/// </summary>
public sealed class SessionAnswerBoundSpec : FakePdsHostSpec
{
    [Fact]
    public async Task A_getSession_answer_over_64_KiB_is_a_502_InvalidResponse_and_one_under_it_passes_without_its_DID_document()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        using var client = ClientWith(host, key);

        byte[] Answer(int pad) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            did = alice.Did, handle = alice.Handle, didDoc = new { id = alice.Did }, pad = new string('x', pad),
        }));
        Pds.AnswerWith("com.atproto.server.getSession", Answer(60_000), "application/json");
        using (var under = await client.GetAsync("/xrpc/com.atproto.server.getSession"))
        {
            Assert.Equal(HttpStatusCode.OK, under.StatusCode);
            var session = await under.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal((alice.Did, 60_000), (session.GetProperty("did").GetString(), session.GetProperty("pad").GetString()!.Length));
            Assert.False(session.TryGetProperty("didDoc", out _));
        }

        Pds.AnswerWith("com.atproto.server.getSession", Answer(70_000), "application/json");
        using var over = await client.GetAsync("/xrpc/com.atproto.server.getSession");
        Assert.Equal(HttpStatusCode.BadGateway, over.StatusCode);
        var error = await over.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("InvalidResponse", error.GetProperty("error").GetString());
        Assert.EndsWith("is larger than 65536 bytes", error.GetProperty("message").GetString());
    }
}
