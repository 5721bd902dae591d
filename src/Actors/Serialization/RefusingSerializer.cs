using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace Supervisor.Actors.Serialization;

/// <summary>
/// Stands in for Akka's default JSON serializer (Newtonsoft with type names, id 1, bound to <see cref="object"/>): a
/// payload sent under that id names the .NET type it is to become, so any holder of the cluster's certificate (a
/// ClusterClient outside the cluster included) could make a node build any type it has, the classic deserialization
/// attack. Nothing of the supervisor's needs it (every message between nodes and every journal record has its own
/// serializer, <see cref="SupervisorSerializer"/>), so on the nodes this serializer takes its place and refuses both
/// ways: a payload arriving under id 1 is dropped by remoting, and a message of a type without a serializer of its own
/// fails to be sent (logged with its type) instead of travelling as type-named JSON.
/// </summary>
public sealed class RefusingSerializer(ExtendedActorSystem system) : Serializer(system)
{
    /// <summary>The constructor Akka calls when the name it replaces has settings (<c>serialization-settings.json</c>), which it ignores.</summary>
    public RefusingSerializer(ExtendedActorSystem system, Akka.Configuration.Config settings) : this(system) => _ = settings;

    /// <inheritdoc />
    public override bool IncludeManifest => false;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) =>
        throw new SerializationException($"{obj.GetType().FullName} has no serializer on the supervisor's nodes: a message between nodes is an IWireMessage");

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, Type? type) =>
        throw new SerializationException("refused a payload under Akka's type-named JSON serializer (id 1): the supervisor's nodes do not read it");
}
