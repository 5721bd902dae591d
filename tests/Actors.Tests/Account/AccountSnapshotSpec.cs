using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>Snapshots every N events, and recovery from them.</summary>
public sealed class AccountSnapshotSpec(ITestOutputHelper output)
    : SupervisorSpec(new TestJournal(), output, "supervisor.accounts.snapshot-every = 3"), IAsyncLifetime
{
    private FakePdsServer _pds = null!;

    public async Task InitializeAsync() => _pds = await FakePdsServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _pds.DisposeAsync();
        Journal.Dispose();
    }

    [Fact]
    public async Task An_account_recovers_from_its_snapshot_after_many_refreshes()
    {
        var account = _pds.CreateAccount("snap.test", "pw-snap");
        await LoginAsync(_pds.Url, account.Handle, account.Password);
        for (var i = 0; i < 5; i++) Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        var before = await StatusAsync(account.Did);
        await EventuallyAsync(() => Task.FromResult(SnapshotCount() > 0), TimeSpan.FromSeconds(5), "a snapshot");
        await Sys.Terminate();

        var (system, accounts) = StartSecondSystem();
        try
        {
            var after = await StatusAsync(account.Did, accounts);
            Assert.Equal(before.RefreshCount, after.RefreshCount);
            Assert.Equal(before.AccessExpiresAt, after.AccessExpiresAt);
            Assert.Equal(200, (await CallAsync(account.Did, GetSession, accounts)).Status);
            Assert.True(JournalRows.Read(Journal.File, Supervisor.Actors.Account.AccountSessionActor.PersistenceIdFor(account.Did)).Count < 11);
        }
        finally
        {
            await system.Terminate();
        }
    }

    private long SnapshotCount()
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Journal.File};Mode=ReadOnly;Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM snapshot";
        return (long)command.ExecuteScalar()!;
    }
}
