using Akka.Actor;
using Akka.Cluster.Sharding;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;

namespace Supervisor.Actors.Tests.Cluster;

/// <summary>
/// A shard region starts an actor only for an id that names one of its entities: an account's DID, a bucket's number.
/// Any other id (which only a system sending straight to a region can name) starts nothing that reads a journal or
/// answers, and takes no other entity of its shard down with it.
/// </summary>
public sealed class ShardEntityIdSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    [Fact]
    public async Task An_id_that_is_no_bucket_number_restarts_no_bucket_of_its_shard_and_none_is_started_for_a_number_out_of_range()
    {
        await LoggedInAsync("held.test");
        var buckets = Settings.RegistryBuckets;
        var registry = ClusterSharding.Get(Sys).ShardRegion(RegistryBucket.TypeName);
        // Every bucket runs (the directory was loaded from each); watched, none may stop.
        var running = new List<IActorRef>();
        for (var b = 0; b < buckets; b++)
        {
            Assert.IsType<RegistryCommands.BucketDirectory>(await registry.AskBucketAsync<object>(Buckets.ToBucket(b, RegistryCommands.GetDirectory.Instance), TimeSpan.FromSeconds(10)));
            running.Add(await Sys.ActorSelection($"/system/sharding/{RegistryBucket.TypeName}/*/{b}").ResolveOne(TimeSpan.FromSeconds(5)));
        }
        foreach (var bucket in running) Watch(bucket);

        // Ids in the shard of bucket 0 that are no bucket number (a bucket's props would read them as one).
        var extractor = new ShardEnvelope(buckets);
        var shardOfZero = extractor.ShardId("0");
        var notNumbers = Enumerable.Range(0, 10_000).Select(i => "x" + i).Where(id => extractor.ShardId(id) == shardOfZero).Take(3).ToList();
        foreach (var id in notNumbers.Append("-1").Append(" 1").Append("0" + buckets))
            registry.Tell(new ShardingEnvelope(id, RegistryCommands.GetDirectory.Instance), TestActor);
        ExpectNoMsg(TimeSpan.FromSeconds(1)); // neither an answer nor a bucket's Terminated

        // A number beyond the buckets, or written otherwise than a bucket's id, is no bucket: nothing answers as one.
        foreach (var id in new[] { buckets.ToString(System.Globalization.CultureInfo.InvariantCulture), "00", "+1" })
        {
            var answer = await AnswerOrNoneAsync(registry.Ask<object>(new ShardingEnvelope(id, RegistryCommands.GetDirectory.Instance), TimeSpan.FromSeconds(2)));
            Assert.False(answer is RegistryCommands.BucketDirectory, $"the id {id} was answered as a bucket: {answer}");
        }
        Assert.Equal(1, (await CountsAsync()).Accounts);
    }

    [Fact]
    public async Task An_account_id_that_is_no_DID_starts_no_account()
    {
        var alice = await LoggedInAsync("named.test");
        var accounts = ClusterSharding.Get(Sys).ShardRegion(AccountsSupervisor.AccountTypeName);
        foreach (var id in new[] { "alice", "did:plc:short", alice.Did + "/x", "did:example:123" })
        {
            var answer = await AnswerOrNoneAsync(accounts.Ask<object>(new ShardingEnvelope(id, new GetAccountStatus(id)), TimeSpan.FromSeconds(2)));
            Assert.False(answer is AccountStatus, $"the id {id} was answered by an account: {answer}");
        }
        // The region's own accounts are untouched.
        var status = Assert.IsType<AccountStatus>(await accounts.Ask<object>(new ShardingEnvelope(alice.Did, new GetAccountStatus(alice.Did)), TimeSpan.FromSeconds(10)));
        Assert.Equal(alice.Did, status.Did);
    }
}
