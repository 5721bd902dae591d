using System.Runtime.CompilerServices;
using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// An account's rest, as its registry bucket holds it (the bucket wakes it when its refresh or keep-alive is due), is the
/// one it had when it stopped: a status it reported between its rest and its stop (which the bucket takes as running) is
/// followed by its rest again.
/// </summary>
public sealed class AccountRestRecordSpec(ITestOutputHelper output)
    : FakePdsSpec(new TestJournal(), output, "supervisor.accounts { passivate-after = 1h }")
{
    [Fact]
    public async Task A_status_reported_between_an_accounts_rest_and_its_stop_is_followed_by_its_rest_again()
    {
        var alice = await LoggedInAsync("late.test");
        var account = await Sys.ActorSelection("/system/sharding/account/*/" + Uri.EscapeDataString(alice.Did)).ResolveOne(TimeSpan.FromSeconds(5));
        Pds.RefreshLatency = TimeSpan.FromMilliseconds(500); // the refresh is still in flight when the shard's stop comes

        // Its passivation check finds it idle: it rests and asks its shard to stop it; a refresh asked meanwhile ends,
        // and reports the account's new status, before it stops.
        account.Tell(AccountSelfMessages.PassivationCheck.Instance);
        account.Tell(new RefreshNow(alice.Did), TestActor);
        ExpectMsg<RefreshCompleted>(TimeSpan.FromSeconds(10));
        Watch(account);
        ExpectTerminated(account, TimeSpan.FromSeconds(10));

        await EventuallyAsync(async () => Assert.IsType<SupervisorCounts>(await AskAsync(GetSupervisorCounts.Instance)) is { Passivated: 1 },
            TimeSpan.FromSeconds(5), "the bucket to hold the account's rest");
        Assert.Equal(1, (await StatusAsync(alice.Did)).RefreshCount); // the rest it holds is the one after the refresh
    }

    [Fact]
    public async Task A_status_an_account_reported_before_its_rest_that_reaches_its_bucket_after_is_dropped()
    {
        var alice = await LoggedInAsync("racing.test");
        var account = await Sys.ActorSelection("/system/sharding/account/*/" + Uri.EscapeDataString(alice.Did)).ResolveOne(TimeSpan.FromSeconds(5));
        var before = await StatusAsync(alice.Did);
        account.Tell(AccountSelfMessages.PassivationCheck.Instance);
        Watch(account);
        ExpectTerminated(account, TimeSpan.FromSeconds(10));
        await EventuallyAsync(async () => Assert.IsType<SupervisorCounts>(await AskAsync(GetSupervisorCounts.Instance)) is { Passivated: 1 },
            TimeSpan.FromSeconds(5), "the account's rest");

        // Its report of a moment before the rest, the long way round (through its node's gateway), comes in last.
        var registry = Akka.Cluster.Sharding.ClusterSharding.Get(Sys).ShardRegion("account-registry");
        registry.Tell(Supervisor.Actors.Cluster.Buckets.To(alice.Did, new Supervisor.Actors.Account.AccountSettings().RegistryBuckets,
            new Supervisor.Actors.Accounts.RegistryCommands.AccountRunning(before)), account);
        await Task.Delay(300);
        Assert.Equal(new SupervisorCounts(1, 0, 1), await AskAsync(GetSupervisorCounts.Instance));
    }

    [Fact]
    public async Task A_bucket_keeps_nothing_of_the_stopped_run_whose_rest_it_holds()
    {
        var alice = await LoggedInAsync("forgotten.test");
        await RestedAsync(alice.Did);
        Assert.Equal(new SupervisorCounts(1, 0, 1), await AskAsync(GetSupervisorCounts.Instance));

        // A later run rests too, then stops (a stand-in, as the bucket sees it). The bucket kept that run's ref, and with it
        // all Akka held for the stopped actor, for as long as the account rested (1.3 KB an account, bench/run memory); it
        // keeps only which run it was.
        var run = RestedAndStopped(alice.Did, await StatusAsync(alice.Did));
        Assert.Equal(new SupervisorCounts(1, 0, 1), await AskAsync(GetSupervisorCounts.Instance));
        await EventuallyAsync(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return Task.FromResult(!run.IsAlive);
        }, TimeSpan.FromSeconds(20), "the stopped run's ref to be collected");
    }

    [Fact]
    public async Task An_account_rested_again_and_again_leaves_the_wake_of_another_account_of_its_bucket_on_time()
    {
        // Two accounts of one registry bucket, both resting.
        var buckets = new AccountSettings().RegistryBuckets;
        var seen = new Dictionary<int, string>();
        (string Did, string Other)? pair = null;
        for (var i = 0; pair is null; i++)
        {
            Assert.True(i < 200, "no two accounts shared a bucket");
            var did = (await LoggedInAsync($"w{i}.test")).Did;
            var bucket = Supervisor.Actors.Cluster.Buckets.Of(did, buckets);
            if (seen.TryGetValue(bucket, out var other)) pair = (did, other);
            else seen[bucket] = did;
        }
        var (busy, due) = pair.Value;
        await RestedAsync(busy, due);

        // One is due in 3 s; the other rests 200 times more, each rest naming a time weeks ahead, so that the bucket's
        // wake times are rebuilt several times (more than twice its accounts and 64): the first one's time must survive.
        var registry = Akka.Cluster.Sharding.ClusterSharding.Get(Sys).ShardRegion("account-registry");
        var now = DateTimeOffset.UtcNow;
        registry.Tell(Supervisor.Actors.Cluster.Buckets.To(due, buckets,
            new Supervisor.Actors.Accounts.RegistryCommands.AccountResting(due, now.AddSeconds(3), await StatusAsync(due))), TestActor);
        var busyStatus = await StatusAsync(busy);
        for (var rest = 0; rest < 200; rest++)
            registry.Tell(Supervisor.Actors.Cluster.Buckets.To(busy, buckets,
                new Supervisor.Actors.Accounts.RegistryCommands.AccountResting(busy, now.AddDays(60).AddMinutes(rest), busyStatus)), TestActor);
        await EventuallyAsync(async () => (await StatusAsync(due)).Node is not null, TimeSpan.FromSeconds(20), "the due account to wake");
        Assert.Null((await StatusAsync(busy)).Node);
    }

    /// <summary>
    /// Has the accounts rest now: tells each that still runs to check whether it may rest (an account busy with what
    /// followed its login lets a check pass), until each rests (its status, the bucket's, names no node).
    /// </summary>
    private async Task RestedAsync(params string[] dids) => await EventuallyAsync(async () =>
    {
        var running = 0;
        foreach (var did in dids)
        {
            if ((await StatusAsync(did)).Node is null) continue;
            running++;
            Sys.ActorSelection("/system/sharding/account/*/" + Uri.EscapeDataString(did)).Tell(AccountSelfMessages.PassivationCheck.Instance);
        }
        return running == 0;
    }, TimeSpan.FromSeconds(30), "the accounts' rest");

    /// <summary>
    /// A stand-in for a run of the account: sends the account's rest to its bucket, then stops; only a weak reference to it
    /// is returned (no local of the caller holds it).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private WeakReference RestedAndStopped(string did, Supervisor.Actors.Protocol.AccountStatus status)
    {
        var standIn = Sys.ActorOf(Props.Create(() => new StandIn()));
        var registry = Akka.Cluster.Sharding.ClusterSharding.Get(Sys).ShardRegion("account-registry");
        registry.Tell(Supervisor.Actors.Cluster.Buckets.To(did, new AccountSettings().RegistryBuckets,
            new Supervisor.Actors.Accounts.RegistryCommands.AccountResting(did, null, status)), standIn);
        Assert.True(standIn.GracefulStop(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult());
        return new WeakReference(standIn);
    }

    private sealed class StandIn : UntypedActor
    {
        protected override void OnReceive(object message) { }
    }

    [Fact]
    public async Task A_handle_an_accounts_rest_names_is_its_handle_from_then_on_even_when_its_running_report_was_dropped()
    {
        var alice = await LoggedInAsync("renaming.test");
        var account = await Sys.ActorSelection("/system/sharding/account/*/" + Uri.EscapeDataString(alice.Did)).ResolveOne(TimeSpan.FromSeconds(5));
        var before = await StatusAsync(alice.Did);
        account.Tell(AccountSelfMessages.PassivationCheck.Instance);
        Watch(account);
        ExpectTerminated(account, TimeSpan.FromSeconds(10));

        // The account took a new handle just before it rested; the report that said so came after its rest and was
        // dropped (above): its rest, which names the handle too, is what the bucket goes by.
        var registry = Akka.Cluster.Sharding.ClusterSharding.Get(Sys).ShardRegion("account-registry");
        registry.Tell(Supervisor.Actors.Cluster.Buckets.To(alice.Did, new Supervisor.Actors.Account.AccountSettings().RegistryBuckets,
            new Supervisor.Actors.Accounts.RegistryCommands.AccountResting(alice.Did, null, before with { Handle = "renamed.test" })), account);
        await EventuallyAsync(async () => await AskAsync(new GetAccountStatus("renamed.test")) is Supervisor.Actors.Protocol.AccountStatus { Did: var did } && did == alice.Did,
            TimeSpan.FromSeconds(10), "the new handle to find the account");
        Assert.IsType<AccountNotFound>(await AskAsync(new GetAccountStatus("renaming.test")));
    }
}
