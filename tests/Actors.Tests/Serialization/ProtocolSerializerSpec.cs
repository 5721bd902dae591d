using Akka.Actor;
using Akka.Configuration;
using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Serialization;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Serialization;

/// <summary>
/// The protocol as another actor system sees it: an assembly of its own (Supervisor.Protocol) whose serializer reads and
/// writes what the nodes' serializer does, under the same id and manifests, without the journal or the token key.
/// </summary>
public sealed class ProtocolSerializerSpec : Akka.TestKit.Xunit2.TestKit
{
    private const string Did = "did:plc:abcdefghijklmnopqrstuvwx";
    private static readonly DateTimeOffset At = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly TestJournal Journal = new();

    /// <summary>What a system referencing only the protocol configures (as the samples do).</summary>
    private static readonly Config ClientConfig = ConfigurationFactory.ParseString("""
        akka.actor {
          serializers.protocol = "Supervisor.Actors.Serialization.ProtocolSerializer, Supervisor.Protocol"
          serialization-bindings {
            "Supervisor.Actors.Serialization.IJournaled, Supervisor.Protocol" = protocol
            "Supervisor.Actors.Serialization.IWireMessage, Supervisor.Protocol" = protocol
          }
          serialization-identifiers { "Supervisor.Actors.Serialization.ProtocolSerializer, Supervisor.Protocol" = 5283 }
        }
        """);

    private readonly ActorSystem _client = ActorSystem.Create("protocol-client", ClientConfig);

    public ProtocolSerializerSpec() : base(Journal.Config())
    {
    }

    /// <summary>Every protocol message of the nodes' round-trip spec (those of the protocol assembly).</summary>
    public static TheoryData<object> EveryProtocolMessage()
    {
        var messages = new TheoryData<object>();
        foreach (var row in SupervisorSerializerSpec.EveryWireType().Cast<object[]>())
            if (row[0].GetType().Assembly == typeof(IWireMessage).Assembly) messages.Add(row[0]);
        return messages;
    }

    [Fact]
    public void The_protocol_assembly_references_neither_persistence_nor_the_cluster_nor_the_supervisor_nor_http()
    {
        var references = typeof(ProtocolSerializer).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.Contains("Akka", references);
        Assert.All(references, name => Assert.True(
            name is "Akka" or "Akka.Remote" or "netstandard" || name.StartsWith("System.", StringComparison.Ordinal) && name != "System.Net.Http",
            $"Supervisor.Protocol references {name}"));
    }

    [Fact]
    public void The_external_client_sample_is_built_on_the_protocol_alone()
    {
        var deps = File.ReadAllText(Path.ChangeExtension(SampleBuild.Dll("ExternalClient"), ".deps.json"));
        Assert.Contains("Supervisor.Protocol", deps);
        Assert.DoesNotContain("Supervisor.Actors", deps);
        Assert.DoesNotContain("Akka.Persistence", deps);
    }

    [Fact]
    public void Every_protocol_message_keeps_the_manifest_the_nodes_write_and_is_covered_by_the_round_trip_spec()
    {
        Assert.Equal(
            ProtocolSerializer.CurrentWireManifests.Keys.Select(t => t.FullName).Order(),
            EveryProtocolMessage().Cast<object[]>().Select(row => row[0].GetType().FullName).Order());
        foreach (var (type, manifest) in ProtocolSerializer.CurrentWireManifests)
        {
            Assert.Equal("wire." + type.Name + ".v1", manifest);
            Assert.Equal(manifest, SupervisorSerializer.CurrentWireManifests[type]);
        }
        Assert.Equal("SessionEvent.v2", ProtocolSerializer.CurrentEventManifests[typeof(SessionEvent)]);
        Assert.Equal("SessionEvent.v2", SupervisorSerializer.CurrentManifests[typeof(SessionEvent)]);
    }

    [Theory]
    [MemberData(nameof(EveryProtocolMessage))]
    public void A_protocol_message_crosses_both_ways_between_a_node_and_a_system_that_references_only_the_protocol(object message)
    {
        var node = Sys.Serialization.FindSerializerFor(message);
        var client = _client.Serialization.FindSerializerFor(message);
        Assert.IsType<SupervisorSerializer>(node);
        Assert.IsType<ProtocolSerializer>(client);
        Assert.Equal(node.Identifier, client.Identifier);
        var manifest = Akka.Serialization.Serialization.ManifestFor(node, message);
        Assert.Equal(manifest, Akka.Serialization.Serialization.ManifestFor(client, message));

        var atClient = _client.Serialization.Deserialize(node.ToBinary(message), node.Identifier, manifest);
        var atNode = Sys.Serialization.Deserialize(client.ToBinary(message), client.Identifier, manifest);
        Assert.Equal(SupervisorSerializerSpec.Canonical(message), SupervisorSerializerSpec.Canonical(atClient));
        Assert.Equal(SupervisorSerializerSpec.Canonical(message), SupervisorSerializerSpec.Canonical(atNode));
    }

    [Fact]
    public void A_session_event_reaches_a_system_that_references_only_the_protocol_without_tokens_and_never_with_them()
    {
        var tokens = TestJwt.Pair(Did, At);
        var withTokens = new SessionEvent(SessionEventKind.Refresh, Did, "alice.test", "http://entryway", AccountStateName.Active, null, At,
            new SessionGrant(Did, "alice.test", tokens));
        var node = Sys.Serialization.FindSerializerFor(withTokens);
        var manifest = Akka.Serialization.Serialization.ManifestFor(node, withTokens);

        var received = _client.Serialization.Deserialize(node.ToBinary(withTokens.WithoutTokens()), node.Identifier, manifest);
        Assert.Equal(SupervisorSerializerSpec.Canonical(withTokens.WithoutTokens()), SupervisorSerializerSpec.Canonical(received));

        var refused = Assert.ThrowsAny<Exception>(() => _client.Serialization.Deserialize(node.ToBinary(withTokens), node.Identifier, manifest));
        Assert.Empty(Secrets.JwtsIn(refused.ToString()));
        Assert.ThrowsAny<Exception>(() => _client.Serialization.FindSerializerFor(withTokens).ToBinary(withTokens));
    }

    [Fact]
    public void A_trusted_clients_message_carries_its_message_under_that_messages_own_manifest_and_never_shows_its_secret()
    {
        const string secret = "s3cret-of-the-ops-client-0123456789";
        var trusted = new AsTrustedClient("ops", secret, new AccountCommands.BorrowAccessToken(Did, "com.atproto.repo.uploadBlob", true));
        var client = _client.Serialization.FindSerializerFor(trusted);
        var wire = client.ToBinary(trusted);

        var atNode = Assert.IsType<AsTrustedClient>(Sys.Serialization.Deserialize(wire, client.Identifier, "wire.AsTrustedClient.v1"));
        Assert.Equal(("ops", secret), (atNode.Client, atNode.Secret));
        Assert.Equal(trusted.Message, atNode.Message);
        Assert.Contains("\"manifest\":\"wire.BorrowAccessToken.v1\"", System.Text.Encoding.UTF8.GetString(wire));
        Assert.DoesNotContain(secret, trusted.ToString());

        // What a trusted client may carry is a protocol message: neither a journal record nor itself.
        foreach (var manifest in new[] { "SessionEvent.v2", "wire.AsTrustedClient.v1", "wire.Nothing.v1" })
        {
            var forged = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(wire).Replace("wire.BorrowAccessToken.v1", manifest));
            var refused = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => ((Akka.Serialization.SerializerWithStringManifest)client).FromBinary(forged, "wire.AsTrustedClient.v1"));
            Assert.DoesNotContain(secret, refused.Message);
        }
    }

    protected override void AfterAll()
    {
        _client.Terminate().Wait(TimeSpan.FromSeconds(10));
        base.AfterAll();
    }
}
