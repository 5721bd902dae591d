using System.Net;
using Supervisor.Actors.Keys;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>A key's last use is recorded, at most once a minute: a key's every request is not a journal write.</summary>
public sealed class KeyUseSpec : FakePdsHostSpec
{
    [Fact]
    public async Task Many_requests_with_a_key_within_a_minute_record_its_use_once()
    {
        await using var host = await StartHostAsync();
        var alice = await LoggedInAsync(host, "alice.test");
        var (_, key) = await IssueKeyAsync(host, alice.Did);
        using var client = ClientWith(host, key);
        for (var i = 0; i < 20; i++)
        {
            using var answer = await client.GetAsync($"/accounts/{alice.Did}/xrpc/com.atproto.server.getSession");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            await Task.Delay(50); // the use recorded by the first has reached the host's index of keys
        }

        Assert.Single(JournalRows.Read(Folder, AccountKeys.Id), r => r.Manifest == "KeyUsed.v1");
    }
}
