using System.Net;
using System.Net.Http.Json;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>What a PDS sends cannot forge a line in the host's log: control characters in its error text come out as spaces.</summary>
public sealed class LogInjectionSpec : FakePdsHostSpec
{
    [Fact]
    public async Task A_pds_error_message_with_a_newline_does_not_forge_a_log_line()
    {
        var account = Pds.CreateAccount("inject.test", "pw-inject");
        Pds.InvalidCredentialsMessage = "Invalid identifier or password\n[12:00:00 INF] forged\u001b[2J";
        await using var host = new SupervisorProcess(Folder.Folder, Folder.HostEnvironment());
        await host.StartAsync();

        using (var login = await host.Http.PostAsJsonAsync("/accounts", new { identifier = account.Handle, password = "wrong", service = Pds.Url }))
            Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.Equal(0, await host.TerminateAsync());

        var lines = host.Output.Split('\n');
        // A server's error text has its control characters made spaces where it is read (XrpcError.FromServer).
        Assert.Contains(lines, l => l.Contains("Invalid identifier or password [12:00:00 INF] forged [2J"));
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("[12:00:00 INF] forged", StringComparison.Ordinal));
        Assert.DoesNotContain('\u001b', host.Output);
    }
}
