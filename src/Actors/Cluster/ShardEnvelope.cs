using Akka.Cluster.Sharding;

namespace Supervisor.Actors.Cluster;

/// <summary>
/// Routes the supervisor's sharded messages: every message travels in a <see cref="ShardingEnvelope"/> whose entity
/// id is the account's DID (accounts) or a bucket number (registry, login budgets); the shard is the entity id's hash.
/// </summary>
public sealed class ShardEnvelope : HashCodeMessageExtractor
{
    /// <summary>An extractor over <paramref name="shards"/> shards (fixed for the life of a cluster's journal).</summary>
    public ShardEnvelope(int shards) : base(shards)
    {
    }

    /// <summary>
    /// Nothing but envelopes is routed: <see cref="HashCodeMessageExtractor"/> itself reads <see cref="ShardingEnvelope"/>
    /// (and sharding's own StartEntity) before asking this.
    /// </summary>
    public override string? EntityId(object message) => null;
}
