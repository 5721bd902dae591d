using Supervisor.Actors.Protocol;
using Supervisor.Actors.Serialization;

namespace Supervisor.Actors.Accounts;

/// <summary>What the nodes' gateways and the accounts tell a <see cref="RegistryBucket"/>, and its answers.</summary>
public static class RegistryCommands
{
    /// <summary>
    /// Journal that the account exists (with its verified handle); answered with <see cref="AccountRegistration"/>.
    /// <paramref name="StartNow"/>: the bucket starts the account (an account moved from the registry before the cluster).
    /// </summary>
    public sealed record RegisterAccount(string Did, string? Handle, bool StartNow = false) : IWireMessage, Cluster.IBucketRequest;

    /// <summary>The registration is journaled (<paramref name="Registered"/>), or the journal refused it.</summary>
    public sealed record AccountRegistration(string Did, bool Registered) : IWireMessage;

    /// <summary>
    /// A running account's status (after every change). The bucket keeps it for listings, journals a new handle,
    /// and watches the account: should it stop without resting (its node lost), the bucket starts it again.
    /// </summary>
    public sealed record AccountRunning(AccountStatus Status) : IWireMessage;

    /// <summary>
    /// An idle account stops (passivation): its status and the time its next refresh or keep-alive is due are
    /// journaled, and the bucket wakes it then (null: nothing is due).
    /// </summary>
    public sealed record AccountResting(string Did, DateTimeOffset? WakeAt, AccountStatus Status) : IWireMessage;

    /// <summary>A page of this bucket's accounts; answered with <see cref="AccountReplies.AccountList"/>.</summary>
    public sealed record ListBucket(AccountCommands.ListAccounts Query) : IWireMessage, Cluster.IBucketRequest;

    /// <summary>Answered with <see cref="AccountReplies.AccountCounts"/> of this bucket.</summary>
    public sealed record CountBucket : IWireMessage, Cluster.IBucketRequest
    {
        /// <summary>The one instance.</summary>
        public static readonly CountBucket Instance = new();
    }

    /// <summary>Every account's DID and handle in a bucket; answered with <see cref="BucketDirectory"/>.</summary>
    public sealed record GetDirectory : IWireMessage, Cluster.IBucketRequest
    {
        /// <summary>The one instance.</summary>
        public static readonly GetDirectory Instance = new();
    }

    /// <summary>The DIDs and handles of one bucket.</summary>
    public sealed record BucketDirectory(int Bucket, IReadOnlyList<RegistryEntry> Accounts) : IWireMessage;

    /// <summary>Published to every node's gateway when an account joins or changes its handle.</summary>
    public sealed record DirectoryChanged(string Did, string? Handle) : IWireMessage;

    /// <summary>Whether the account exists; answered with <see cref="RegistryEntry"/> or <see cref="AccountReplies.AccountNotFound"/>.</summary>
    public sealed record LookupAccount(string Did) : IWireMessage, Cluster.IBucketRequest;

    /// <summary>
    /// A bucket asks its own node's gateway to wake an account (start it through the shard region): the gateway leaves
    /// alone an account it is starting again after a journal failure (its backoff decides when).
    /// </summary>
    public sealed record WakeAccount(string Did);

    /// <summary>Sent by every node's gateway every few seconds: a bucket that moved after a node loss starts again.</summary>
    public sealed record KeepBucketAwake : IWireMessage
    {
        /// <summary>The one instance.</summary>
        public static readonly KeepBucketAwake Instance = new();
    }
}
