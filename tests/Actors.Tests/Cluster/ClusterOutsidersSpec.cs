using Akka.Actor;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Cluster;

/// <summary>
/// Which system a client's message comes from. A ClusterClient's message reaches the gateway from the receptionist's
/// response tunnel for it, named after the client's path, on the node whose receptionist took it: that node is often
/// another member (the receptionist sends to any node's gateway). A system outside the cluster naming an actor of its own
/// after a client's path is not that client.
/// </summary>
public sealed class ClusterOutsidersSpec(ITestOutputHelper output) : SupervisorSpec(new TestJournal(), output)
{
    [Fact]
    public async Task A_clients_message_from_another_members_receptionist_is_of_the_clients_system_and_a_lookalike_from_outside_is_not()
    {
        var client = Address.Parse("akka.tcp://outside@127.0.0.1:4711");
        var tunnelName = Uri.EscapeDataString((new RootActorPath(client) / "user" / "client").ToSerializationFormat());

        using var member = await SecondMemberAsync();
        using var outsider = ActorSystem.Create("outside", Journal.Config(Overrides)); // never joins

        var fromMember = await TunnelAsync(member, tunnelName);
        Assert.Equal(client, ClusterOutsiders.ClientAddress(fromMember, Sys));
        var fromOutsider = await TunnelAsync(outsider, tunnelName);
        Assert.Equal(Akka.Cluster.Cluster.Get(outsider).SelfAddress, ClusterOutsiders.ClientAddress(fromOutsider, Sys));

        await member.Terminate();
        await outsider.Terminate();
    }

    /// <summary>An actor at <c>/system/receptionist/{name}</c> of <paramref name="system"/>, as this node resolves it.</summary>
    private async Task<IActorRef> TunnelAsync(ActorSystem system, string name)
    {
        ((ExtendedActorSystem)system).SystemActorOf(Props.Create(() => new Receptionist(name)), "receptionist");
        var address = ((ExtendedActorSystem)system).Provider.DefaultAddress;
        var path = (new RootActorPath(address) / "system" / "receptionist" / name).ToString();
        for (var tries = 0; ; tries++)
        {
            try
            {
                return await Sys.ActorSelection(path).ResolveOne(TimeSpan.FromSeconds(3));
            }
            catch (ActorNotFoundException) when (tries < 5)
            {
                // its child is created as the receptionist starts
            }
        }
    }

    /// <summary>Stands for ClusterClientReceptionist: a tunnel child named after a client's path.</summary>
    private sealed class Receptionist : ReceiveActor
    {
        public Receptionist(string tunnel) => Context.ActorOf(Props.Create(() => new Tunnel()), tunnel);

        private sealed class Tunnel : ReceiveActor;
    }
}
