using System.Net;
using System.Net.Http.Json;
using Supervisor.Actors.Tests.FakePds;

namespace Supervisor.Actors.Tests.Support;

/// <summary>A spec of the host run as a process, against an in-process fake PDS, with a data folder of its own.</summary>
public abstract class FakePdsHostSpec : IAsyncLifetime
{
    /// <summary>The host's data folder (its SQLite journal is <see cref="TestJournal.File"/>).</summary>
    protected TestJournal Folder { get; } = new();

    protected FakePdsServer Pds { get; private set; } = null!;

    public async Task InitializeAsync() => Pds = await FakePdsServer.StartAsync();

    /// <summary>A host started on <see cref="Folder"/>, with <paramref name="hocon"/> (SUPERVISOR_HOCON) when given.</summary>
    protected async Task<SupervisorProcess> StartHostAsync(string? hocon = null)
    {
        var host = new SupervisorProcess(Folder.Folder, hocon is null ? null : new Dictionary<string, string> { ["SUPERVISOR_HOCON"] = hocon });
        await host.StartAsync();
        return host;
    }

    /// <summary>A new account <paramref name="handle"/> of the fake PDS (password <c>pw-</c> and its handle), logged in at <paramref name="host"/>.</summary>
    protected async Task<FakeAccount> LoggedInAsync(SupervisorProcess host, string handle)
    {
        var account = Pds.CreateAccount(handle, "pw-" + handle);
        await LoginAsync(host, account);
        return account;
    }

    /// <summary>Logs <paramref name="account"/> of the fake PDS in at <paramref name="host"/> (POST /accounts), answered 201.</summary>
    protected async Task LoginAsync(SupervisorProcess host, FakeAccount account)
    {
        using var answer = await host.Http.PostAsJsonAsync("/accounts", new { identifier = account.Handle, password = account.Password, service = Pds.Url });
        Assert.True(answer.StatusCode == HttpStatusCode.Created, $"login answered {(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync()}");
    }

    public async Task DisposeAsync()
    {
        await Pds.DisposeAsync();
        Folder.Dispose();
    }
}
