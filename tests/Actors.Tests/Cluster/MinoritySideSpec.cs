using Akka.Actor;
using Supervisor.Actors.Account;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Actors.Tests.Cluster;

/// <summary>
/// An account recovered on a node that does not see a majority of its cluster (a paused node waking up, a node cut
/// off): it neither journals its ownership, refreshes nor calls the PDS there until the node sees a majority. The
/// process spec (NodeLossSpec, SIGSTOP) shows it across a real takeover; this one without timing: a node that is not
/// yet a member has no majority at all.
/// </summary>
public sealed class MinoritySideSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    private const string GetSessionNsid = "com.atproto.server.getSession";

    [Fact]
    public async Task An_account_recovered_on_a_node_without_a_majority_waits_and_serves_once_the_node_has_one()
    {
        var account = await LoggedInAsync();
        await Sys.Terminate();
        var ownersBefore = Owners(account.Did);

        // Another node on the same journal, not (yet) a member of any cluster: the account is started on it directly.
        using var system = ActorSystem.Create("minority-" + Guid.NewGuid().ToString("N")[..6], Journal.Config(Overrides).WithFallback(AccountMailbox.Configuration));
        var node = "akka.tcp://minority@127.0.0.1:1#1";
        var deps = new AccountDependencies(Client, Settings, ActorRefs.Nobody, TimeProvider.System, new SupervisorMetrics(), new JournalHealth(),
            new ServerLimits(Settings.ServerLimits), ActorRefs.Nobody, null, ActorRefs.Nobody, ActorRefs.Nobody, node);
        var actor = system.ActorOf(AccountSessionActor.Props(account.Did, deps));
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

    /// <summary>The owners the account's journal names, in order.</summary>
    private List<string> Owners(string did) =>
        JournalRows.Read(Journal, AccountSessionActor.PersistenceIdFor(did)).Where(r => r.Manifest.StartsWith("OwnerClaimed.", StringComparison.Ordinal))
            .Select(r => System.Text.Json.JsonDocument.Parse(r.Payload).RootElement.GetProperty("node").GetString()!).ToList();
}
