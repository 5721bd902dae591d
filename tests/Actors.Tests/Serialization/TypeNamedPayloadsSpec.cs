using System.Runtime.Serialization;
using System.Text;
using Supervisor.Actors.Serialization;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Serialization;

/// <summary>
/// A node reads no payload under Akka's default serializer (Newtonsoft JSON with type names, id 1), with which a
/// sender holding the cluster's certificate could make the node build any type it names; and it sends nothing that
/// way: a type without a serializer of its own fails to be sent rather than travel as type-named JSON.
/// </summary>
public sealed class TypeNamedPayloadsSpec() : Akka.TestKit.Xunit2.TestKit(Journal.Config())
{
    private static readonly TestJournal Journal = new();

    /// <summary>A type whose construction is seen: what a hostile payload would name.</summary>
    public sealed class Canary
    {
        public static int Built;

        public Canary() => Interlocked.Increment(ref Built);

        public string? Note { get; set; }
    }

    [Fact]
    public void A_payload_under_the_type_named_json_serializer_is_refused_and_builds_nothing()
    {
        var payload = Encoding.UTF8.GetBytes($$"""{"$type":"{{typeof(Canary).AssemblyQualifiedName}}","Note":"from outside"}""");
        var before = Canary.Built;
        var refused = Assert.ThrowsAny<Exception>(() => Sys.Serialization.Deserialize(payload, 1, ""));
        Assert.IsType<SerializationException>(refused.GetBaseException());
        Assert.Equal(before, Canary.Built);
    }

    [Fact]
    public void A_message_without_a_serializer_of_its_own_is_not_sent_as_type_named_json()
    {
        var serializer = Sys.Serialization.FindSerializerFor(new Canary());
        Assert.IsType<RefusingSerializer>(serializer);
        Assert.Equal(1, serializer.Identifier);
        var refused = Assert.Throws<SerializationException>(() => serializer.ToBinary(new Canary()));
        Assert.Contains(typeof(Canary).FullName!, refused.Message);
    }
}
