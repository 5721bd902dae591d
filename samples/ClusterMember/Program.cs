// A separate actor system that joins the supervisor's cluster as a member with the role client: it starts a proxy of
// the accounts' shard region and sends protocol messages for one account straight to its entity, wherever in the
// cluster it runs (getSession through CallXrpc, GetAccountStatus), subscribes to the account's session events through
// /user/accounts on a node (the account actor does not take subscriptions itself), prints what it hears for --duration
// seconds, then leaves the cluster. It prints statuses, DIDs and events, never a token.
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Samples.ClusterMember;
using Supervisor.Samples.ExternalClient;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

MemberOptions options;
try
{
    options = MemberOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

var seeds = string.Join(", ", options.Seeds.Select(s => $"\"{s}\""));
var config = ConfigurationFactory.ParseString($"""
        akka.remote.dot-netty.tcp.hostname = "{options.Host}"
        akka.remote.dot-netty.tcp.port = {options.Port}
        akka.cluster.seed-nodes = [{seeds}]
        """)
    .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "member.conf"))));
// Mutual TLS: this member presents the cluster's certificate and admits only peers that present it, as every node does.
var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(options.Certificate,
    Environment.GetEnvironmentVariable("CLUSTER_MEMBER_CERT_PASSWORD"));
// A member of the cluster has the nodes' system name.
using var system = ActorSystem.Create(MemberOptions.SupervisorSystem, BootstrapSetup.Create().WithConfig(config).And(RemotingTls.Setup(certificate)));
var cluster = Akka.Cluster.Cluster.Get(system);
var timeout = TimeSpan.FromSeconds(60);

try
{
    var up = new TaskCompletionSource();
    cluster.RegisterOnMemberUp(() => up.TrySetResult());
    if (await Task.WhenAny(up.Task, Task.Delay(timeout)) != up.Task)
        throw new TimeoutException("not a member within 60 s: are the seeds right, and is the certificate the cluster's?");
    Console.WriteLine($"joined {cluster.SelfAddress} as {string.Join(",", cluster.SelfRoles)}");

    // The accounts' region runs on the supervisor nodes; here only a proxy, with the nodes' extractor (entity id the DID).
    var accounts = await ClusterSharding.Get(system).StartProxyAsync(
        "account", ClusterRoles.Supervisor, new ShardEnvelope(options.Shards));
    Task<object> Ask(object message) => accounts.Ask<object>(new ShardingEnvelope(options.Did, message), timeout);

    // Session events: a node's /user/accounts takes the subscription and its event hub tells this member every event.
    var node = cluster.State.Members.First(m => m.HasRole(ClusterRoles.Supervisor) && m.Status == Akka.Cluster.MemberStatus.Up).Address;
    var gateway = system.ActorSelection(new RootActorPath(node) / "user" / "accounts");
    var printer = system.ActorOf(EventPrinter.Props(Console.Out), "session-events");
    if (await gateway.Ask<object>(new SubscribeSessionEvents(printer, options.Did), timeout) is not SubscribeSessionEvents)
        throw new SampleFailure("the subscription was not confirmed");
    Console.WriteLine($"subscribed to the session events of {options.Did} at {node}");

    switch (await Ask(new CallXrpc(options.Did, XrpcRequest.Query("com.atproto.server.getSession"))))
    {
        case XrpcResponse { IsSuccess: true } answer:
            using (var body = JsonDocument.Parse(answer.Body))
                Console.WriteLine($"getSession {answer.Status} {body.RootElement.GetProperty("did").GetString()}");
            break;
        case XrpcResponse answer:
            Console.WriteLine($"getSession {answer.Status} {answer.Error?.Error}");
            break;
        case AccountUnavailable unavailable:
            Console.WriteLine($"getSession unavailable: {unavailable.State} {unavailable.Error.Error}");
            break;
        case var other:
            Console.WriteLine($"getSession answered {other.GetType().Name}");
            break;
    }
    Console.WriteLine(await Ask(new GetAccountStatus(options.Did)) switch
    {
        AccountStatus status => $"status {status.Did} {status.State} node {status.Node}",
        var other => $"status answered {other.GetType().Name}",
    });

    await Task.Delay(options.Duration);
    gateway.Tell(new UnsubscribeSessionEvents(printer));
    Console.WriteLine("leaving");
    return 0;
}
catch (SampleFailure failure)
{
    Console.Error.WriteLine(failure.Message);
    return 1;
}
catch (Exception e) when (e is AskTimeoutException or TimeoutException)
{
    Console.Error.WriteLine(e is TimeoutException ? e.Message : "no answer from the cluster within 60 s");
    return 3;
}
finally
{
    // Leaves the cluster (the nodes see it leave, not fail), then stops the actor system.
    await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance);
}
