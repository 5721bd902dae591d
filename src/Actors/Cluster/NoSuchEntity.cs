using Akka.Actor;
using Akka.Event;

namespace Supervisor.Actors.Cluster;

/// <summary>
/// What a shard starts for an entity id that names no entity of its region (an account id that is no DID, a bucket id
/// that is no bucket number): only a system outside the cluster sends one, straight to a region. It stops at once,
/// having read no journal, and what was sent to it goes to the dead letters. The region's own props never see such an id:
/// a bucket's would throw on one that is no number, which restarted its shard and every bucket in it.
/// </summary>
public sealed class NoSuchEntity : ActorBase
{
    private static readonly Props Refused = Props.Create<NoSuchEntity>().WithDeploy(Deploy.Local);

    private static readonly LogThrottle RefusalLog = new();

    /// <summary>The entity props of a region whose entity ids are those <paramref name="names"/> accepts; any other id gets a <see cref="NoSuchEntity"/>.</summary>
    public static Func<string, Props> Or(Func<string, bool> names, Func<string, Props> props) => id => names(id) ? props(id) : Refused;

    /// <inheritdoc />
    protected override void PreStart()
    {
        if (RefusalLog.Allows(out var leftOut))
        {
            var id = Uri.UnescapeDataString(Self.Path.Name);
            Context.GetLogger().Warning("{Region}: no entity has the id {EntityId}; what was sent to it is dropped ({Unlogged} more such ids since the last such line)",
                Self.Path.Parent.Parent.Name, id.Length <= 64 ? id : id[..64] + "…", leftOut);
        }
        Context.Stop(Self);
    }

    /// <inheritdoc />
    protected override bool Receive(object message) => false;
}
