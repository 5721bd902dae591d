using System.Text.Json;
using Supervisor.Actors.Tests.RealPds;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The command line of the same executable, run as a process against a running host and the real PDS.</summary>
[Collection(RealPdsCollection.Name)]
public sealed class CliSpec(RealPdsServer pds) : IAsyncLifetime
{
    private readonly TestJournal _folder = new();
    private SupervisorProcess _host = null!;

    public async Task InitializeAsync()
    {
        _host = new SupervisorProcess(_folder.Folder);
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task Accounts_are_added_with_the_password_from_stdin_listed_shown_exported_and_logged_out()
    {
        var alice = await pds.CreateAccountAsync("cli");
        var (code, output, error) = await _host.RunCliAsync(alice.Password + "\n", "accounts", "add", "--service", pds.Url, "--identifier", alice.Handle);
        Assert.True(code == 0, error);
        Assert.Equal("Active", JsonDocument.Parse(output).RootElement.GetProperty("state").GetString());

        (code, output, _) = await _host.RunCliAsync("", "accounts", "list");
        Assert.Equal(0, code);
        Assert.Contains(alice.Did, output);
        (code, output, _) = await _host.RunCliAsync("", "accounts", "show", alice.Handle);
        Assert.Equal(0, code);
        Assert.Empty(Secrets.JwtsIn(output));
        (code, output, _) = await _host.RunCliAsync("", "session", "export", alice.Did);
        Assert.Equal(0, code);
        Assert.Equal(5, output.Trim().Split(":::").Length);
        (code, output, _) = await _host.RunCliAsync("", "accounts", "logout", alice.Did);
        Assert.Equal(0, code);
        Assert.Contains("LoggedOut", output);

        (code, _, error) = await _host.RunCliAsync("wrong\n", "accounts", "add", "--service", pds.Url, "--identifier", alice.Handle);
        Assert.Equal(1, code);
        Assert.Contains("AuthenticationRequired", error);
    }

    [Fact]
    public async Task A_file_of_sessions_is_imported_line_by_line_with_the_rejected_lines_and_their_reasons()
    {
        var bob = await pds.CreateAccountAsync("cli");
        var carol = await pds.CreateAccountAsync("cli");
        var file = Path.Combine(_folder.Folder, "sessions.txt");
        await File.WriteAllLinesAsync(file,
        [
            bob.SessionString(pds.Url),
            "not-a-session",
            "",
            $$"""{"accessJwt":"{{carol.AccessJwt}}","refreshJwt":"{{carol.RefreshJwt}}","did":"{{carol.Did}}","handle":"{{carol.Handle}}","service":"{{pds.Url}}"}""",
        ]);
        var (code, output, _) = await _host.RunCliAsync("", "accounts", "import", "--file", file);
        Assert.Equal(2, code);
        Assert.Contains($"line 1: imported {bob.Did} ({bob.Handle})", output);
        Assert.Contains("line 2: rejected: InvalidSession:", output);
        Assert.Contains($"line 4: imported {carol.Did} ({carol.Handle})", output);
        Assert.Contains("2 imported, 1 rejected", output);
        Assert.Empty(Secrets.JwtsIn(output));
    }

    [Fact]
    public async Task An_unreachable_host_is_a_clear_error()
    {
        var (code, _, error) = await _host.RunCliAsync("", "accounts", "list", "--host", "http://127.0.0.1:1");
        Assert.Equal(3, code);
        Assert.Contains("cannot reach the supervisor", error);
    }
}
