// A separate actor system that reaches the supervisor's cluster through ClusterClient: it imports a session, calls
// com.atproto.server.getSession through the account, and prints the account's session events as they happen. Run as a
// client the nodes trust (--trusted NAME, its secret in EXTERNAL_CLIENT_SECRET), it subscribes with tokens and may export.
// The session (the supervisor's session string, or SessionData JSON) comes from SUPERVISOR_SESSION or the first line of
// standard input, and is never printed; neither is any token.
using System.Collections.Immutable;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Tools.Client;
using Akka.Configuration;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Samples.ExternalClient;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

ClientOptions options;
try
{
    options = ClientOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
var session = Environment.GetEnvironmentVariable("SUPERVISOR_SESSION") is { Length: > 0 } given ? given : Console.In.ReadLine();
if (string.IsNullOrWhiteSpace(session))
{
    Console.Error.WriteLine("no session: give it in SUPERVISOR_SESSION or on the first line of standard input");
    return 2;
}

var config = ConfigurationFactory.ParseString($"akka.remote.dot-netty.tcp.hostname = \"{options.Host}\"")
    .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "client.conf"))))
    .WithFallback(ClusterClientReceptionist.DefaultConfig())
    // The serializer of ClusterClient's Send (Akka.Cluster.Tools' pub-sub messages): the nodes read no message without
    // a serializer of its own (Akka's type-named JSON is refused there).
    .WithFallback(Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.DefaultConfig());
// Mutual TLS: this system presents the cluster's certificate and admits only peers that present it.
var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(options.Certificate,
    Environment.GetEnvironmentVariable("EXTERNAL_CLIENT_CERT_PASSWORD"));
using var system = ActorSystem.Create("external-client", BootstrapSetup.Create().WithConfig(config).And(Supervisor.Actors.Cluster.RemotingTls.Setup(certificate)));
var settings = ClusterClientSettings.Create(system).WithInitialContacts(options.Contacts.Select(ActorPath.Parse).ToImmutableHashSet());
var client = system.ActorOf(ClusterClient.Props(settings), "supervisor");
// Every message goes to the gateway of external clients on whichever node the client is connected to.
Task<object> Ask(object message) => client.Ask<object>(new ClusterClient.Send("/user/clients", message), TimeSpan.FromSeconds(60));
// What reveals tokens goes with the client's name and secret when it is trusted (refused otherwise).
object AsTrusted(Supervisor.Actors.Serialization.IWireMessage message) =>
    options.Trusted is { } trusted ? new AsTrustedClient(trusted.Name, trusted.Secret, message) : message;

try
{
    var did = await Ask(new ImportSession(session, options.Service)) switch
    {
        SessionStarted started => started.Status.Did,
        SessionRejected rejected => throw new SampleFailure($"import rejected: {rejected.Reason} {rejected.Error.Error}"),
        var other => throw new SampleFailure($"import answered {other.GetType().Name}"),
    };
    session = null;
    Console.WriteLine($"imported {did}");

    // Events go to this system's own actor, directly from the node's event hub (not through the client's tunnel).
    var printer = system.ActorOf(EventPrinter.Props(Console.Out), "session-events");
    var subscription = new SubscribeSessionEvents(printer, did, IncludeTokens: options.Trusted is not null);
    switch (await Ask(AsTrusted(subscription)))
    {
        case SubscribeSessionEvents:
            break;
        case RefusedToClient refused:
            throw new SampleFailure($"the subscription was refused: {refused.Error.Error}: {refused.Error.Message}");
        case var other:
            throw new SampleFailure($"the subscription was answered {other.GetType().Name}");
    }
    Console.WriteLine($"subscribed to the session events of {did}{(subscription.IncludeTokens ? " with tokens" : "")}");

    switch (await Ask(new CallXrpc(did, XrpcRequest.Query("com.atproto.server.getSession"))))
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

    if (options.TryExport)
        Console.WriteLine(await Ask(AsTrusted(new ExportSession(did, SessionFormat.Json))) switch
        {
            RefusedToClient refused => $"ExportSession refused: {refused.Error.Error}: {refused.Error.Message}",
            SessionExported => "ExportSession answered with the session (not printed)",
            var other => $"ExportSession answered {other.GetType().Name}",
        });

    await Task.Delay(options.Duration);
    await Ask(new UnsubscribeSessionEvents(printer));
    Console.WriteLine("done");
    return 0;
}
catch (SampleFailure failure)
{
    Console.Error.WriteLine(failure.Message);
    return 1;
}
catch (AskTimeoutException)
{
    Console.Error.WriteLine("no answer from the supervisor within 60 s: are the contacts right, and is this system reachable from the nodes?");
    return 3;
}
finally
{
    await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance);
}
