using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Akka.Actor;
using Akka.Actor.Setup;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.RealPds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Clients;

/// <summary>
/// The sample samples/ExternalClient, a separate process with its own actor system, against a host run as a process with
/// the real PDS (10 s access tokens): through ClusterClient it imports a session, calls getSession, hears the account's
/// refreshes as they happen (also after ClusterClient's response tunnel closed, set to 3 s after the last answer), and is
/// refused the session's export; nothing it prints holds a token.
/// </summary>
[Collection(RealPdsCollection.Name)]
public sealed class ExternalClientSpec(RealPdsServer pds, ITestOutputHelper output)
{
    [Fact]
    public async Task An_actor_system_outside_the_cluster_imports_a_session_calls_xrpc_hears_its_refreshes_and_is_refused_its_tokens()
    {
        using var folder = new TestJournal();
        var remoting = LoopbackPort.Free();
        await using var host = new SupervisorProcess(folder.Folder, new Dictionary<string, string>
        {
            ["SUPERVISOR_CLUSTER_PORT"] = remoting.ToString(CultureInfo.InvariantCulture),
            // The client's response tunnel closes 3 s after an answer: the events that come later do not use it.
            ["SUPERVISOR_HOCON"] = "akka.cluster.client.receptionist.response-tunnel-receive-timeout = 3s",
        });
        await host.StartAsync();
        var account = await pds.CreateAccountAsync("ext");

        var run = await RunSampleAsync(
            account.SessionString(pds.Url), null,
            "--contacts", $"127.0.0.1:{remoting}", "--service", pds.Url, "--duration", "12", "--try-export",
            "--cert", Supervisor.Host.Configuration.RemotingCertificate.FileIn(host.DataDir));
        output.WriteLine(run.Output);
        output.WriteLine(run.Error);

        Assert.Equal(0, run.ExitCode);
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains($"imported {account.Did}", lines);
        Assert.Contains($"getSession 200 {account.Did}", lines);
        Assert.Contains(lines, l => l.StartsWith("ExportSession refused: NotAllowedToClients", StringComparison.Ordinal));
        // Refreshes are printed as they happen, the first within the access token's lifetime (10 s), long after the
        // client's response tunnel closed (3 s after the last answer): events go to the subscriber directly.
        var refreshes = lines.Where(l => l.StartsWith($"event Refresh {account.Did} Active after ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..^1], CultureInfo.InvariantCulture))
            .ToList();
        Assert.NotEmpty(refreshes);
        Assert.True(refreshes[0] <= pds.AccessTokenLifetime.TotalSeconds, $"the first refresh was heard after {refreshes[0]} s");
        Assert.Contains(refreshes, seconds => seconds > 4);
        foreach (var text in new[] { run.Output, run.Error })
        {
            Assert.Empty(Secrets.JwtsIn(text));
            Assert.DoesNotContain(account.AccessJwt, text);
            Assert.DoesNotContain(account.RefreshJwt, text);
        }
    }

    /// <summary>
    /// The same sample run as a client the host trusts (SUPERVISOR_TRUSTED_CLIENTS holds its name and the SHA-256 of its
    /// secret; the sample has the secret in EXTERNAL_CLIENT_SECRET): its subscription with tokens is confirmed, each refresh
    /// comes with the account's new tokens (the sample prints whose they are, never them), and the export is answered; the
    /// host's audit trail names the client. Nothing printed holds a token or the secret.
    /// </summary>
    [Fact]
    public async Task A_trusted_actor_system_outside_the_cluster_hears_refreshes_with_their_tokens_and_may_export_the_session()
    {
        var secret = "trusted-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        TestSecrets.Register("client-secret", secret);
        var digest = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));
        using var folder = new TestJournal();
        var remoting = LoopbackPort.Free();
        await using var host = new SupervisorProcess(folder.Folder, new Dictionary<string, string>
        {
            ["SUPERVISOR_CLUSTER_PORT"] = remoting.ToString(CultureInfo.InvariantCulture),
            ["SUPERVISOR_TRUSTED_CLIENTS"] = "ops-console=" + digest,
        });
        await host.StartAsync();
        var account = await pds.CreateAccountAsync("trust");

        var run = await RunSampleAsync(
            account.SessionString(pds.Url), new Dictionary<string, string> { ["EXTERNAL_CLIENT_SECRET"] = secret },
            "--contacts", $"127.0.0.1:{remoting}", "--service", pds.Url, "--duration", "12", "--try-export", "--trusted", "ops-console",
            "--cert", Supervisor.Host.Configuration.RemotingCertificate.FileIn(host.DataDir));
        output.WriteLine(run.Output);
        output.WriteLine(run.Error);

        Assert.Equal(0, run.ExitCode);
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains($"subscribed to the session events of {account.Did} with tokens", lines);
        Assert.Contains("ExportSession answered with the session (not printed)", lines);
        Assert.Contains(lines, l => l.StartsWith($"event Refresh {account.Did} Active with tokens for {account.Did} after ", StringComparison.Ordinal));
        using var audit = await host.Http.GetAsync("/audit");
        Assert.Contains("trusted client ops-console", await audit.Content.ReadAsStringAsync());
        foreach (var text in new[] { run.Output, run.Error, host.Output })
        {
            Assert.Empty(Secrets.JwtsIn(text));
            Assert.DoesNotContain(secret, text);
        }
    }

    /// <summary>
    /// Remoting admits only peers that present the cluster's certificate (mutual TLS, pinned): a system that reaches a
    /// node's remoting port without it, in plain TCP or with a certificate of its own, gets nothing from /user/accounts,
    /// not even by sending to it directly around the clients' gateway.
    /// </summary>
    [Fact]
    public async Task An_actor_system_without_the_cluster_certificate_cannot_reach_the_accounts()
    {
        using var folder = new TestJournal();
        var remoting = LoopbackPort.Free();
        await using var host = new SupervisorProcess(folder.Folder, new Dictionary<string, string>
        {
            ["SUPERVISOR_CLUSTER_PORT"] = remoting.ToString(CultureInfo.InvariantCulture),
        });
        await host.StartAsync();
        var account = await pds.CreateAccountAsync("ext");
        using var imported = await host.Http.PostAsJsonAsync("/accounts/import",
            new { session = account.SessionString(pds.Url), service = pds.Url });
        Assert.Equal(HttpStatusCode.Created, imported.StatusCode);

        var clientConfig = Akka.Configuration.ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(Path.GetDirectoryName(SampleBuild.Dll("ExternalClient"))!, "client.conf")));
        var ownCertificate = Path.Combine(folder.Folder, "other.pfx");
        Supervisor.Host.Configuration.RemotingCertificate.CreateSelfSigned(ownCertificate);
        var other = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(ownCertificate, null);
        (string How, string Protocol, ActorSystemSetup Setup)[] outsiders =
        [
            ("plain TCP", "akka.tcp", ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(Akka.Configuration.ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.enable-ssl = false").WithFallback(clientConfig)))),
            ("a certificate of its own", "akka.ssl.tcp", BootstrapSetup.Create().WithConfig(clientConfig).And(new Akka.Remote.Transport.DotNetty.DotNettySslSetup(other, false, true,
                (_, _, _, _, _) => true))), // an intruder accepts whatever the node presents
        ];
        foreach (var (how, protocol, setup) in outsiders)
        {
            using var outside = ActorSystem.Create("outside", setup);
            var answer = await SupervisorSpec.AnswerOrNoneAsync(outside.ActorSelection($"{protocol}://supervisor@127.0.0.1:{remoting}/user/accounts")
                .Ask<object>(new AccountCommands.ExportSession(account.Did, SessionFormat.Json), TimeSpan.FromSeconds(8)));
            // SessionExported's ToString leaves the session out: a failure here prints no token.
            Assert.True(answer is "no answer", $"with {how} the node answered {answer}");
            await outside.Terminate();
        }
    }

    /// <summary>
    /// A holder of the cluster's certificate that is not a member (it even holds the token key, as an intruder on a node's
    /// machine could) sends around the clients' gateway, straight to the node's <c>/user/accounts</c> and to the keys'
    /// owner: an export and a token loan are refused, a subscription with tokens hears its events without them, and a key
    /// it tries to issue (with a secret of its own choosing) is never issued.
    /// </summary>
    [Fact]
    public async Task A_certificate_holder_outside_the_cluster_gets_no_token_and_no_key_by_sending_around_the_gateway()
    {
        using var folder = new TestJournal();
        var remoting = LoopbackPort.Free();
        await using var host = await StartHostAsync(folder, remoting);
        var account = await ImportedAccountAsync(host, "out");

        using var outside = OutsideSystem(host, CertificateHolder());
        var node = $"akka.ssl.tcp://supervisor@127.0.0.1:{remoting}";
        Task<object> AskAsync(string path, object message) => SupervisorSpec.AnswerOrNoneAsync(outside.ActorSelection(node + path).Ask<object>(message, TimeSpan.FromSeconds(8)));

        // SessionExported's and AccessTokenLent's ToString leave the tokens out: a failure here prints none.
        var export = await AskAsync("/user/accounts", new AccountCommands.ExportSession(account.Did, SessionFormat.Json));
        Assert.True(export is AccountReplies.RefusedToClient { Error.Error: "NotAllowedToClients" }, $"an export answered {export}");
        var loan = await AskAsync("/user/accounts", new AccountCommands.BorrowAccessToken(account.Did, "com.atproto.server.getSession"));
        Assert.True(loan is AccountReplies.RefusedToClient { Error.Error: "NotAllowedToClients" }, $"a loan answered {loan}");

        var listener = new Akka.TestKit.TestProbe(outside, new Akka.TestKit.Xunit2.XunitAssertions());
        var subscribed = await AskAsync("/user/accounts", new AccountCommands.SubscribeSessionEvents(listener.Ref, account.Did, IncludeTokens: true));
        Assert.IsType<AccountCommands.SubscribeSessionEvents>(subscribed);
        using (var refreshed = await host.Http.PostAsync($"/accounts/{account.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var heard = listener.FishForMessage<Supervisor.Actors.Events.SessionEvent>(e => e.Kind == Supervisor.Actors.Events.SessionEventKind.Refresh, TimeSpan.FromSeconds(15));
        Assert.Null(heard.Session);

        // Around the gateway too, the node's own actors cannot be subscribed: the hub (whose events would go round for
        // ever) nor the events feed (which would take every event of the cluster as this node's).
        foreach (var own in new[] { "/user/accounts/session-events", "/user/session-event-feed", "/user/account-history" })
        {
            var nodesOwn = await outside.ActorSelection(node + own).ResolveOne(TimeSpan.FromSeconds(8));
            var subscribedOwn = await AskAsync("/user/accounts", new AccountCommands.SubscribeSessionEvents(nodesOwn));
            Assert.True(subscribedOwn is AccountReplies.RefusedToClient, $"subscribing {own} answered {subscribedOwn}");
        }

        var (id, key, hash) = Supervisor.Actors.Keys.AccountKey.New();
        TestSecrets.Register("account-key", key);
        var issued = await AskAsync("/user/account-keys-proxy", new Supervisor.Actors.Keys.KeyCommands.IssueKey(id, hash, account.Did, "intruder", null, [], "admin"));
        Assert.Equal("no answer", issued);
        // Nor by telling the node's copy of the keys that the owner journaled it: every number from the first on, with a
        // sender of its own and without one (the copy would apply the one that follows what it holds).
        var replica = outside.ActorSelection(node + "/user/account-keys-replica");
        var planted = new Supervisor.Actors.Keys.KeyEvents.KeyIssued(id, account.Did, "intruder", hash, null, ["com.atproto.server.createAppPassword"], "admin", DateTimeOffset.UtcNow);
        for (var n = 0L; n < 100; n++)
        {
            replica.Tell(new Supervisor.Actors.Keys.KeyReplication.KeyEventJournaled(n, planted), listener.Ref);
            replica.Tell(new Supervisor.Actors.Keys.KeyReplication.KeyEventJournaled(n, planted), ActorRefs.NoSender);
        }
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.DoesNotContain(id, await host.Http.GetStringAsync("/keys"));
        using var withKey = new HttpRequestMessage(HttpMethod.Get, $"/accounts/{account.Did}/xrpc/com.atproto.server.getSession");
        withKey.Headers.Authorization = new("Bearer", key);
        using (var refused = await host.Http.SendAsync(withKey))
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        await outside.Terminate();
    }

    /// <summary>
    /// Two systems outside the cluster, each through its own ClusterClient: one cannot unsubscribe the other's subscriber
    /// nor subscribe it to events it did not ask for, and neither can by sending around the gateway (with its sender or
    /// none), where the node's own subscribers (the events feed) cannot be unsubscribed either; each still hears what it
    /// subscribed, and so does /events.
    /// </summary>
    [Fact]
    public async Task A_system_outside_the_cluster_neither_unsubscribes_nor_subscribes_another_ones_actors()
    {
        using var folder = new TestJournal();
        var remoting = LoopbackPort.Free();
        await using var host = await StartHostAsync(folder, remoting);
        var account = await ImportedAccountAsync(host, "subs");
        var node = $"akka.ssl.tcp://supervisor@127.0.0.1:{remoting}";

        // As the sample's: ClusterClient's settings and the serializer of its Send (Akka.Cluster.Tools' pub-sub messages).
        var clientConfig = Akka.Cluster.Tools.Client.ClusterClientReceptionist.DefaultConfig()
            .WithFallback(Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.DefaultConfig());
        using var first = OutsideSystem(host, clientConfig);
        using var second = OutsideSystem(host, clientConfig);
        var firstClient = ClientOf(first, node);
        var secondClient = ClientOf(second, node);
        var listener = new Akka.TestKit.TestProbe(first, new Akka.TestKit.Xunit2.XunitAssertions());
        Assert.IsType<AccountCommands.SubscribeSessionEvents>(await firstClient.Ask<object>(
            new Akka.Cluster.Tools.Client.ClusterClient.Send("/user/clients", new AccountCommands.SubscribeSessionEvents(listener.Ref, account.Did)), TimeSpan.FromSeconds(20)));

        // The second system names the first one's subscriber (its path is all it takes), then the node's events feed.
        var othersListener = await second.ActorSelection(listener.Ref.Path.ToStringWithAddress(((ExtendedActorSystem)first).Provider.DefaultAddress)).ResolveOne(TimeSpan.FromSeconds(8));
        var feed = await second.ActorSelection(node + "/user/session-event-feed").ResolveOne(TimeSpan.FromSeconds(8));
        object[] attempts =
        [
            new AccountCommands.UnsubscribeSessionEvents(othersListener),
            new AccountCommands.SubscribeSessionEvents(othersListener, Did: null),
        ];
        foreach (var attempt in attempts)
        {
            var answer = await secondClient.Ask<object>(new Akka.Cluster.Tools.Client.ClusterClient.Send("/user/clients", attempt), TimeSpan.FromSeconds(20));
            Assert.True(answer is AccountReplies.RefusedToClient, $"{attempt.GetType().Name} through the gateway answered {answer}");
        }
        // Around the gateway, with no sender first (the node would take a missing sender for its own), then asked.
        foreach (var attempt in attempts.Append(new AccountCommands.UnsubscribeSessionEvents(feed)))
            second.ActorSelection(node + "/user/accounts").Tell(attempt);
        foreach (var attempt in attempts.Append(new AccountCommands.UnsubscribeSessionEvents(feed)))
        {
            var answer = await second.ActorSelection(node + "/user/accounts").Ask<object>(attempt, TimeSpan.FromSeconds(8));
            Assert.True(answer is AccountReplies.RefusedToClient, $"{attempt.GetType().Name} around the gateway answered {answer}");
        }

        await using var events = await SseReader.OpenAsync(host, "/events");
        using (var refreshed = await host.Http.PostAsync($"/accounts/{account.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.Equal(Supervisor.Actors.Events.SessionEventKind.Refresh, listener.ExpectMsg<Supervisor.Actors.Events.SessionEvent>(TimeSpan.FromSeconds(15)).Kind);
        var heard = await events.NextAsync();
        Assert.Equal(("Refresh", account.Did), (heard.Event, heard.Data.GetProperty("did").GetString()));

        // Its own subscriber, the first system unsubscribes: it hears nothing more.
        Assert.IsType<AccountCommands.UnsubscribeSessionEvents>(await firstClient.Ask<object>(
            new Akka.Cluster.Tools.Client.ClusterClient.Send("/user/clients", new AccountCommands.UnsubscribeSessionEvents(listener.Ref)), TimeSpan.FromSeconds(20)));
        using (var refreshed = await host.Http.PostAsync($"/accounts/{account.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.Equal("Refresh", (await events.NextAsync()).Event);
        listener.ExpectNoMsg(TimeSpan.FromSeconds(1));
        await first.Terminate();
        await second.Terminate();
    }

    /// <summary>
    /// What only the supervisor's own actors send, a certificate holder outside the cluster sends in vain: to the actors
    /// themselves (with its sender or none) or published to their topics through its ClusterClient. Session events of its
    /// making reach no subscriber, a handle still finds its account, an account it says handed its events over still
    /// serves, and a call around the gateway is refused (the gateway refuses privileged methods to such a client).
    /// </summary>
    [Fact]
    public async Task A_certificate_holder_outside_the_cluster_cannot_send_what_only_the_supervisors_actors_send()
    {
        using var folder = new TestJournal();
        var remoting = LoopbackPort.Free();
        await using var host = await StartHostAsync(folder, remoting);
        var account = await ImportedAccountAsync(host, "own");
        var node = $"akka.ssl.tcp://supervisor@127.0.0.1:{remoting}";
        using var outside = OutsideSystem(host, CertificateHolder());
        var client = ClientOf(outside, node);
        var probe = new Akka.TestKit.TestProbe(outside, new Akka.TestKit.Xunit2.XunitAssertions());
        await using var events = await SseReader.OpenAsync(host, "/events");

        const string Forged = "did:plc:forgedforgedforgedforged";
        var deleted = new Supervisor.Actors.Events.SessionEvent(Supervisor.Actors.Events.SessionEventKind.Deleted, Forged, "forged.test", "https://pds.example",
            AccountStateName.LoggedOut, null, DateTimeOffset.UtcNow);
        var published = new Supervisor.Actors.Events.SessionEventHub.PublishedSessionEvent(deleted);
        foreach (var (path, message) in new (string, object)[]
                 {
                     ("/user/accounts/session-events", deleted), ("/user/accounts/session-events", published), ("/user/session-event-feed", deleted),
                     // (a handle said to be a DID: requests by the handle would go to an account of that name)
                     ("/user/accounts", new Supervisor.Actors.Accounts.RegistryCommands.DirectoryChanged(account.Handle, null)),
                     ("/user/accounts", new Supervisor.Actors.Account.HeldEventsHandover(account.Did, [])),
                 })
        {
            outside.ActorSelection(node + path).Tell(message, probe.Ref);
            outside.ActorSelection(node + path).Tell(message, ActorRefs.NoSender);
        }
        client.Tell(new Akka.Cluster.Tools.Client.ClusterClient.Publish(Supervisor.Actors.Events.SessionEventHub.Topic, published));
        client.Tell(new Akka.Cluster.Tools.Client.ClusterClient.Publish(Supervisor.Actors.Events.SessionEventHub.Topic, deleted));
        client.Tell(new Akka.Cluster.Tools.Client.ClusterClient.Publish(Supervisor.Actors.Accounts.RegistryBucket.DirectoryTopic,
            new Supervisor.Actors.Accounts.RegistryCommands.DirectoryChanged(account.Handle, null)));
        var mint = new AccountCommands.CallXrpc(account.Did, Supervisor.Actors.Pds.XrpcRequest.Procedure("com.atproto.server.createAppPassword", """{"name":"around"}"""u8.ToArray(), "application/json"));
        var minted = await outside.ActorSelection(node + "/user/accounts").Ask<object>(mint, TimeSpan.FromSeconds(8));
        Assert.True(minted is AccountReplies.RefusedToClient, $"createAppPassword around the gateway answered {minted}");
        // Published to a topic the nodes' own actors subscribe to, through its ClusterClient (whose tunnel is a local actor
        // of the node): an export, a call and an unsubscription of the events feed are not taken as sent from inside.
        Task<object> PublishedAsync(string topic, object message) =>
            SupervisorSpec.AnswerOrNoneAsync(client.Ask<object>(new Akka.Cluster.Tools.Client.ClusterClient.Publish(topic, message), TimeSpan.FromSeconds(8)));
        var feed = await outside.ActorSelection(node + "/user/session-event-feed").ResolveOne(TimeSpan.FromSeconds(8));
        foreach (var topic in new[] { Supervisor.Actors.Accounts.RegistryBucket.DirectoryTopic, Supervisor.Actors.Events.SessionEventHub.Topic })
        {
            // SessionExported's ToString leaves the tokens out: a failure here prints none.
            var exported = await PublishedAsync(topic, new AccountCommands.ExportSession(account.Did, SessionFormat.Json));
            Assert.True(exported is "no answer", $"an export published to {topic} answered {exported}");
            var called = await PublishedAsync(topic, mint);
            Assert.True(called is "no answer", $"createAppPassword published to {topic} answered {called}");
            client.Tell(new Akka.Cluster.Tools.Client.ClusterClient.Publish(topic, new AccountCommands.UnsubscribeSessionEvents(feed)));
        }
        // Nor does it list an account of its making, or spend a login budget, by sending to the shard regions.
        const string Planted = "did:plc:plantedplantedplantedplant";
        foreach (var (region, bucketed) in new (string, Akka.Cluster.Sharding.ShardingEnvelope)[]
                 {
                     ("account-registry", Supervisor.Actors.Cluster.Buckets.To(Planted, 32, new Supervisor.Actors.Accounts.RegistryCommands.RegisterAccount(Planted, "planted.test"))),
                     ("login-budget", Supervisor.Actors.Cluster.Buckets.To("budget", 32, new Supervisor.Actors.Limits.LoginBudgetBucket.SpendLogin("budget", []))),
                 })
        {
            var answer = await SupervisorSpec.AnswerOrNoneAsync(outside.ActorSelection(node + "/system/sharding/" + region).Ask<object>(bucketed, TimeSpan.FromSeconds(8)));
            Assert.True(answer is "no answer", $"{bucketed.Message.GetType().Name} to {region} answered {answer}");
        }
        // Nor does the account region keep an actor for a DID that is no account here: it is told so.
        const string Unknown = "did:plc:unknownunknownunknownunk";
        var unknown = await SupervisorSpec.AnswerOrNoneAsync(outside.ActorSelection(node + "/system/sharding/account")
            .Ask<object>(new Akka.Cluster.Sharding.ShardingEnvelope(Unknown, new AccountCommands.GetAccountStatus(Unknown)), TimeSpan.FromSeconds(8)));
        Assert.True(unknown is AccountReplies.AccountNotFound, $"a status asked of the region for a DID that is no account answered {unknown}");
        await Task.Delay(TimeSpan.FromSeconds(3));
        using (var planted = await host.Http.GetAsync($"/accounts/{Planted}"))
            Assert.Equal(HttpStatusCode.NotFound, planted.StatusCode);

        // The next event anyone hears is the account's own refresh; the account serves, also by its handle.
        using (var refreshed = await host.Http.PostAsync($"/accounts/{account.Did}/refresh", null))
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var heard = await events.NextAsync();
        Assert.Equal(("Refresh", account.Did), (heard.Event, heard.Data.GetProperty("did").GetString()));
        using (var call = await host.Http.GetAsync($"/accounts/{account.Did}/xrpc/com.atproto.server.getSession"))
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        var byHandle = await host.Http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/accounts/{account.Handle}");
        Assert.Equal(account.Did, byHandle.GetProperty("did").GetString());

        // A logout it sends around the gateway is the client's in the audit trail, whatever credential it names.
        await outside.ActorSelection(node + "/user/accounts").Ask<object>(new AccountCommands.Logout(account.Did, "admin"), TimeSpan.FromSeconds(20));
        await SupervisorSpec.EventuallyAsync(async () => (await host.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/audit")).EnumerateArray()
            .Any(e => e.GetProperty("action").GetString() == "LoggedOut"), TimeSpan.FromSeconds(10), "the logout's entry");
        var logout = (await host.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/audit")).EnumerateArray().First(e => e.GetProperty("action").GetString() == "LoggedOut");
        Assert.Equal("client", logout.GetProperty("credential").GetString());
        // Nor does it send the account its internal messages through the shard region: logged out, it is not made to
        // wait for a sign-in code.
        outside.ActorSelection(node + "/system/sharding/account").Tell(
            new Akka.Cluster.Sharding.ShardingEnvelope(account.Did, new Supervisor.Actors.Account.AuthFactorRequested()), probe.Ref);
        await Task.Delay(TimeSpan.FromSeconds(2));
        var after = await host.Http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/accounts/{account.Did}");
        Assert.Equal("LoggedOut", after.GetProperty("state").GetString());
        await outside.Terminate();
    }

    /// <summary>
    /// A system outside the cluster that holds the certificate and speaks the supervisor's messages: its serializer (with
    /// the token key, which some of them need) and those of ClusterClient, pub-sub and sharding.
    /// </summary>
    private static Akka.Configuration.Config CertificateHolder() => Akka.Configuration.ConfigurationFactory.ParseString($$"""
            akka.actor {
              serializers.supervisor = "Supervisor.Actors.Serialization.SupervisorSerializer, Supervisor.Actors"
              serialization-bindings {
                "Supervisor.Actors.Serialization.IJournaled, Supervisor.Protocol" = supervisor
                "Supervisor.Actors.Serialization.IWireMessage, Supervisor.Protocol" = supervisor
              }
            }
            supervisor.encryption.keys = ["{{TestJournal.TestKey}}"]
            """).WithFallback(Akka.Cluster.Tools.Client.ClusterClientReceptionist.DefaultConfig())
        .WithFallback(Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.DefaultConfig())
        .WithFallback(Akka.Cluster.Sharding.ClusterSharding.DefaultConfig());


    /// <summary>A ClusterClient of <paramref name="system"/> whose contact is the node at <paramref name="node"/>.</summary>
    private static IActorRef ClientOf(ActorSystem system, string node) =>
        system.ActorOf(Akka.Cluster.Tools.Client.ClusterClient.Props(Akka.Cluster.Tools.Client.ClusterClientSettings.Create(system)
            .WithInitialContacts([ActorPath.Parse(node + "/system/receptionist")])));

    /// <summary>
    /// A call by message whose body is 3 MiB (written as base64, 4 MiB on the wire) crosses from a system outside the
    /// cluster to the node (whose remoting frames hold a 4 MiB body, the most an answer may have, and its base64), reaches
    /// the PDS and is answered.
    /// </summary>
    [Fact]
    public async Task A_call_by_message_with_a_3_MiB_body_reaches_the_PDS_and_is_answered()
    {
        using var folder = new TestJournal();
        var remoting = LoopbackPort.Free();
        await using var host = await StartHostAsync(folder, remoting);
        var account = await ImportedAccountAsync(host, "large");

        using var outside = OutsideSystem(host);
        var blob = new byte[3 * 1024 * 1024];
        Random.Shared.NextBytes(blob);
        var call = new AccountCommands.CallXrpc(account.Did, Supervisor.Actors.Pds.XrpcRequest.Procedure("com.atproto.repo.uploadBlob", blob, "application/octet-stream"));

        var answer = await outside.ActorSelection($"akka.ssl.tcp://supervisor@127.0.0.1:{remoting}/user/clients").Ask<object>(call, TimeSpan.FromSeconds(30));

        var uploaded = Assert.IsType<Supervisor.Actors.Pds.XrpcResponse>(answer);
        Assert.Equal(200, uploaded.Status);
        using var json = System.Text.Json.JsonDocument.Parse(uploaded.Body);
        Assert.Equal(blob.Length, json.RootElement.GetProperty("blob").GetProperty("size").GetInt32());
        await outside.Terminate();
    }

    /// <summary>A host run as a process on <paramref name="folder"/>, its remoting on <paramref name="remoting"/>, started.</summary>
    private static async Task<SupervisorProcess> StartHostAsync(TestJournal folder, int remoting)
    {
        var environment = folder.HostEnvironment();
        environment["SUPERVISOR_CLUSTER_PORT"] = remoting.ToString(CultureInfo.InvariantCulture);
        var host = new SupervisorProcess(folder.Folder, environment);
        await host.StartAsync();
        return host;
    }

    /// <summary>A new account of the real PDS (<paramref name="prefix"/> in its handle) whose session the host imported.</summary>
    private async Task<RealAccount> ImportedAccountAsync(SupervisorProcess host, string prefix)
    {
        var account = await pds.CreateAccountAsync(prefix);
        using var imported = await host.Http.PostAsJsonAsync("/accounts/import", new { session = account.SessionString(pds.Url), service = pds.Url });
        Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
        return account;
    }

    /// <summary>
    /// An actor system outside the cluster with the sample client's configuration (under <paramref name="overrides"/>)
    /// and the cluster's certificate from <paramref name="host"/>.
    /// </summary>
    private static ActorSystem OutsideSystem(SupervisorProcess host, Akka.Configuration.Config? overrides = null)
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(Path.GetDirectoryName(SampleBuild.Dll("ExternalClient"))!, "client.conf")));
        var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(
            Supervisor.Host.Configuration.RemotingCertificate.FileIn(host.DataDir), null);
        return ActorSystem.Create("outside", BootstrapSetup.Create().WithConfig(overrides is null ? config : overrides.WithFallback(config))
            .And(Supervisor.Actors.Cluster.RemotingTls.Setup(certificate)));
    }

    /// <summary>Runs the sample's built dll (the configuration of these tests) with the session on its standard input.</summary>
    private static async Task<(int ExitCode, string Output, string Error)> RunSampleAsync(string session, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(SampleBuild.Dll("ExternalClient"));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        using var process = Process.Start(info)!;
        await process.StandardInput.WriteLineAsync(session);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"the sample did not finish within 120 s:\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
