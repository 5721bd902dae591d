using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>A server's text printed by the command line has its control characters escaped: it cannot forge a line or drive the terminal.</summary>
public sealed class CliEscapingSpec : FakePdsHostSpec
{
    [Fact]
    public async Task A_servers_message_with_control_characters_comes_out_without_them_in_an_imports_report()
    {
        await using var host = await StartHostAsync();
        var alice = Pds.CreateAccount("alice.test", "pw-alice-cli");
        using var pds = new HttpClient();
        using var login = await pds.PostAsJsonAsync($"{Pds.Url}/xrpc/com.atproto.server.createSession", new { identifier = alice.Handle, password = alice.Password });
        var session = await login.Content.ReadFromJsonAsync<JsonElement>();
        var file = Path.Combine(Folder.Folder, "sessions.txt");
        await File.WriteAllTextAsync(file, string.Join(":::", alice.Handle, alice.Did, session.GetProperty("accessJwt").GetString(), session.GetProperty("refreshJwt").GetString(), Pds.Url) + "\n");

        // The import's refresh is refused with a message that would clear the screen and forge a line of its own.
        Pds.AnswerWith("com.atproto.server.refreshSession",
            Encoding.UTF8.GetBytes("""{"error":"ExpiredToken","message":"Token has expired\u001b[2J\r\nline 2: imported did:plc:forged (admin.test)"}"""), "application/json", status: 400);
        var (code, output, _) = await host.RunCliAsync("", "accounts", "import", "--file", file);
        Assert.Equal(2, code);
        // Made spaces where the server's error is read (XrpcError.FromServer); the CLI escapes what would still come.
        Assert.Contains("rejected: ExpiredToken: Token has expired [2J  line 2: imported", output);
        Assert.DoesNotContain('\u001b', output);
        Assert.DoesNotContain('\r', output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("line 1: rejected: ", lines[0]);
        Assert.Equal("0 imported, 1 rejected", lines[1]);
    }
}
