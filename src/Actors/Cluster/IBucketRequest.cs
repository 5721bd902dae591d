namespace Supervisor.Actors.Cluster;

/// <summary>
/// A request to a bucket of the registry or of the login budgets that its asker may send again when sharding dropped it
/// during the bucket's hand-off (it never reached the bucket): answered <see cref="Protocol.AccountReplies.AccountMoved"/>
/// from the dead letters (<see cref="LeftBehindRequests"/>) and asked again (<see cref="AccountAsk.AskBucketAsync{T}"/>).
/// </summary>
public interface IBucketRequest;
