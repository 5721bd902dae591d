using Supervisor.Actors.Protocol;
using Supervisor.Host.Configuration;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>Snapshots every N events, and recovery from them, on each journal database.</summary>
public abstract class AccountSnapshotSpec(JournalKind kind, ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(kind), output, "supervisor.accounts.snapshot-every = 3")
{

    [Fact]
    public async Task An_account_recovers_from_its_snapshot_after_many_refreshes()
    {
        var account = Pds.CreateAccount("snap.test", "pw-snap");
        await LoginAsync(Pds.Url, account.Handle, account.Password);
        for (var i = 0; i < 5; i++) Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(account.Did)));
        var before = await StatusAsync(account.Did);
        var persistenceId = Supervisor.Actors.Account.AccountSessionActor.PersistenceIdFor(account.Did);
        await EventuallyAsync(() => Task.FromResult(JournalRows.ReadEverything(Journal).Any(r => r.Manifest == "AccountSnapshot.v2")), TimeSpan.FromSeconds(5), "a snapshot");
        // 11 events were written (a login, then a start and an end per refresh); those before the last snapshot are deleted.
        await EventuallyAsync(() => Task.FromResult(JournalRows.Read(Journal, persistenceId).Count <= 3), TimeSpan.FromSeconds(5), "events before the snapshot to be deleted");
        await Sys.Terminate();

        var (system, accounts) = StartSecondSystem();
        try
        {
            var after = await StatusAsync(account.Did, accounts);
            Assert.Equal(before.RefreshCount, after.RefreshCount);
            Assert.Equal(before.AccessExpiresAt, after.AccessExpiresAt);
            Assert.Equal(200, (await CallAsync(account.Did, GetSession, accounts)).Status);
        }
        finally
        {
            await system.Terminate();
        }
    }
}

public sealed class AccountSnapshotSqliteSpec(ITestOutputHelper output) : AccountSnapshotSpec(JournalKind.Sqlite, output);

public sealed class AccountSnapshotPostgresSpec(ITestOutputHelper output) : AccountSnapshotSpec(JournalKind.Postgres, output);
