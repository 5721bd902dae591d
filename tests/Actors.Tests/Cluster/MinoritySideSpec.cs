using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Cluster;

/// <summary>
/// An account recovered on a node that does not see a majority of its cluster (a paused node waking up, a node cut
/// off): it neither journals its ownership, refreshes nor calls the PDS there until the node sees a majority. The
/// process spec (NodeLossSpec, SIGSTOP) shows it across a real takeover; this one without timing: a node that is not
/// yet a member has no majority at all, and a member whose failure detector has heard from no other member lately
/// (woken from a pause) has none either, though its view still shows every member up.
/// </summary>
public sealed class MinoritySideSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    private const string GetSessionNsid = "com.atproto.server.getSession";
    private const string RefreshSessionNsid = "com.atproto.server.refreshSession";
    private const string DeleteSessionNsid = "com.atproto.server.deleteSession";

    [Fact]
    public async Task An_account_recovered_on_a_node_without_a_majority_waits_and_serves_once_the_node_has_one()
    {
        var account = await LoggedInAsync();
        await Sys.Terminate();
        var ownersBefore = Owners(account.Did);

        // Another node on the same journal, not (yet) a member of any cluster: the account is started on it directly.
        using var system = ActorSystem.Create("minority-" + Guid.NewGuid().ToString("N")[..6], Journal.Config(Overrides).WithFallback(AccountMailbox.Configuration));
        var node = "akka.tcp://minority@127.0.0.1:1#1";
        var actor = StartAccount(system, node, account.Did);
        var calls = Pds.CallCount(GetSessionNsid);
        var call = actor.Ask<object>(new CallXrpc(account.Did, GetSession), AskTimeout);

        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(call.IsCompleted, "the call was answered on a node without a majority");
        Assert.Equal(calls, Pds.CallCount(GetSessionNsid));
        Assert.Equal(ownersBefore, Owners(account.Did));
        Assert.IsType<Protocol.AccountStatus>(await actor.Ask<object>(new GetAccountStatus(account.Did), AskTimeout));

        // The node joins (a cluster of its own): it now sees a majority, and the account claims it and serves the call.
        var cluster = Akka.Cluster.Cluster.Get(system);
        cluster.Join(cluster.SelfAddress);
        var answer = Assert.IsType<XrpcResponse>(await call);
        Assert.Equal(200, answer.Status);
        Assert.Equal(calls + 1, Pds.CallCount(GetSessionNsid));
        Assert.Equal([.. ownersBefore, node], Owners(account.Did));
        await system.Terminate();
    }

    [Fact]
    public async Task An_account_recovered_on_a_node_that_has_heard_from_no_other_member_lately_waits_though_its_view_still_shows_them_up()
    {
        var account = await LoggedInAsync();
        await Sys.Terminate();
        var ownersBefore = Owners(account.Did);

        // Three members, all up. The first one stands for a node just woken up from a pause: its failure detector has heard
        // from nobody for the length of the pause, and its view of the cluster (every member up and reachable) is the one
        // from before the pause, as it stays until the detector's next round marks the others unreachable (which it never
        // does here).
        var name = "quorum-" + Guid.NewGuid().ToString("N")[..6];
        using var woken = ActorSystem.Create(name, Journal.Config(Overrides + $$"""

            akka.cluster.failure-detector.implementation-class = "{{typeof(SilentFailureDetector).AssemblyQualifiedName}}"
            akka.cluster.unreachable-nodes-reaper-interval = 1h
            """).WithFallback(AccountMailbox.Configuration));
        using var second = ActorSystem.Create(name, Journal.Config(Overrides));
        using var third = ActorSystem.Create(name, Journal.Config(Overrides));
        var cluster = Akka.Cluster.Cluster.Get(woken);
        foreach (var member in new[] { woken, second, third }) Akka.Cluster.Cluster.Get(member).Join(cluster.SelfAddress);
        await EventuallyAsync(() => Task.FromResult(cluster.State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) == 3), TimeSpan.FromSeconds(30), "three members up");
        var others = new[] { second, third }.Select(s => Akka.Cluster.Cluster.Get(s).SelfAddress).ToList();
        SilentFailureDetector.Silent = true;
        await EventuallyAsync(() => Task.FromResult(others.All(a => !cluster.FailureDetector.IsAvailable(a))), TimeSpan.FromSeconds(10), "the others not heard from");
        Assert.Empty(cluster.State.Unreachable);

        var node = cluster.SelfUniqueAddress.ToString();
        var actor = StartAccount(woken, node, account.Did);
        var calls = Pds.CallCount(GetSessionNsid);
        var call = actor.Ask<object>(new CallXrpc(account.Did, GetSession), AskTimeout);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(call.IsCompleted, "the call was answered on a node that has heard from no other member");
        Assert.Equal(calls, Pds.CallCount(GetSessionNsid));
        Assert.Equal(ownersBefore, Owners(account.Did));

        // It hears from them again: the account claims itself and serves.
        SilentFailureDetector.Silent = false;
        var answer = Assert.IsType<XrpcResponse>(await call);
        Assert.Equal(200, answer.Status);
        Assert.Equal([.. ownersBefore, node], Owners(account.Did));

        // The running account's node hears from nobody again (paused once more, its view unchanged): a refresh asked for
        // then journals its start but does not send the refresh token, which another node may hold by now; it goes out
        // once the node hears from the others.
        SilentFailureDetector.Silent = true;
        var refreshes = Pds.CallCount(RefreshSessionNsid);
        await actor.Ask<object>(new RefreshNow(account.Did), AskTimeout);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(refreshes, Pds.CallCount(RefreshSessionNsid));
        SilentFailureDetector.Silent = false;
        await EventuallyAsync(() => Task.FromResult(Pds.CallCount(RefreshSessionNsid) == refreshes + 1), TimeSpan.FromSeconds(15), "the refresh sent once heard from");

        // A logout asked while the node hears from nobody is journaled, but its deleteSession (the refresh token again)
        // waits until it hears from the others.
        SilentFailureDetector.Silent = true;
        Assert.IsType<LogoutPending>(await actor.Ask<object>(new Logout(account.Did), AskTimeout));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(0, Pds.CallCount(DeleteSessionNsid));
        SilentFailureDetector.Silent = false;
        await EventuallyAsync(() => Task.FromResult(Pds.CallCount(DeleteSessionNsid) == 1), TimeSpan.FromSeconds(15), "deleteSession sent once heard from");
        await Task.WhenAll(woken.Terminate(), second.Terminate(), third.Terminate());
    }

    /// <summary>The account <paramref name="did"/> started directly on <paramref name="system"/>, the node named <paramref name="node"/>.</summary>
    private IActorRef StartAccount(ActorSystem system, string node, string did) =>
        system.ActorOf(AccountSessionActor.Props(did, new AccountDependencies(Client, Settings, ActorRefs.Nobody, TimeProvider.System, new SupervisorMetrics(),
            new JournalHealth(), new ServerLimits(Settings.ServerLimits), ActorRefs.Nobody, null, ActorRefs.Nobody, ActorRefs.Nobody, node)));

    /// <summary>The owners the account's journal names, in order.</summary>
    private List<string> Owners(string did) =>
        JournalRows.Read(Journal, AccountSessionActor.PersistenceIdFor(did)).Where(r => r.Manifest.StartsWith("OwnerClaimed.", StringComparison.Ordinal))
            .Select(r => System.Text.Json.JsonDocument.Parse(r.Payload).RootElement.GetProperty("node").GetString()!).ToList();
}
