using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;

namespace Supervisor.Actors.Serialization;

/// <summary>
/// Writes an actor reference as its full path with address (<see cref="Akka.Serialization.Serialization.SerializedActorPath"/>),
/// so a subscriber in another actor system can be told directly, and resolves it with the reading system's provider.
/// Nobody is written as an empty string. Without a system (a test comparing serialized forms) it writes only.
/// </summary>
internal sealed class ActorRefJsonConverter(ExtendedActorSystem? system) : JsonConverter<IActorRef>
{
    public override bool CanConvert(Type typeToConvert) => typeof(IActorRef).IsAssignableFrom(typeToConvert);

    public override IActorRef Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var path = reader.GetString();
        if (string.IsNullOrEmpty(path)) return ActorRefs.Nobody;
        return (system ?? throw new JsonException("an actor reference is read only by a serializer of an actor system")).Provider.ResolveActorRef(path);
    }

    public override void Write(Utf8JsonWriter writer, IActorRef value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.IsNobody() ? "" : Akka.Serialization.Serialization.SerializedActorPath(value));
}
