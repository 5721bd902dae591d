using Akka.Cluster.Sharding;
using Akka.Util;

namespace Supervisor.Actors.Cluster;

/// <summary>
/// Spreads keys (DIDs, login budget keys) over a fixed number of buckets, each a sharded entity: the same key
/// lands in the same bucket on every node. The count must not change while a journal holds the buckets.
/// </summary>
public static class Buckets
{
    /// <summary>The bucket of <paramref name="key"/> among <paramref name="count"/>.</summary>
    public static int Of(string key, int count) => (int)((uint)MurmurHash.StringHash(key) % (uint)count);

    /// <summary>The envelope that reaches the bucket of <paramref name="key"/>.</summary>
    public static ShardingEnvelope To(string key, int count, object message) => new(Of(key, count).ToString(System.Globalization.CultureInfo.InvariantCulture), message);

    /// <summary>Whether <paramref name="id"/> is the entity id of one of <paramref name="count"/> buckets, as <see cref="ToBucket"/> writes it.</summary>
    public static bool IsBucket(string id, int count) =>
        int.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bucket)
        && bucket < count && id == bucket.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The envelope that reaches bucket <paramref name="bucket"/>.</summary>
    public static ShardingEnvelope ToBucket(int bucket, object message) => new(bucket.ToString(System.Globalization.CultureInfo.InvariantCulture), message);
}
