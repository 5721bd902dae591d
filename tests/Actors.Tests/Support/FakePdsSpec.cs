using Supervisor.Actors.Tests.FakePds;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Support;

/// <summary>A <see cref="SupervisorSpec"/> with an in-process fake PDS of its own for each test.</summary>
public abstract class FakePdsSpec(TestJournal journal, ITestOutputHelper output, string? overrides = null)
    : SupervisorSpec(journal, output, overrides), IAsyncLifetime
{
    protected FakePdsServer Pds { get; private set; } = null!;

    public virtual async Task InitializeAsync() => Pds = await FakePdsServer.StartAsync();

    public virtual async Task DisposeAsync() => await Pds.DisposeAsync();

    /// <summary>A new account on the fake PDS (password "pw-" + handle), logged in through the supervisor.</summary>
    protected async Task<FakeAccount> LoggedInAsync(string handle = "alice.test")
    {
        var account = Pds.CreateAccount(handle, "pw-" + handle);
        await LoginAsync(Pds.Url, handle, account.Password);
        return account;
    }
}
