using System.Reflection;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Akka.Actor;
using Akka.Serialization;
using Supervisor.Actors.Events;

namespace Supervisor.Actors.Serialization;

/// <summary>
/// Serializes the protocol (every <see cref="IWireMessage"/> of this assembly, and the <see cref="SessionEvent"/>s
/// subscribers receive) as System.Text.Json with the versioned string manifests the supervisor's nodes use
/// (<c>wire.Name.v1</c>, <c>SessionEvent.v2</c>) under the same serializer id, so that a system referencing only this
/// assembly talks with nodes of either version. It holds no token key: it neither writes nor reads tokens (the nodes
/// never send them outside the cluster). The nodes use <c>SupervisorSerializer</c>, which adds the journal's records,
/// the messages between nodes and the tokens' encryption to these manifests.
/// </summary>
public class ProtocolSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer id of the protocol, on the nodes and on their clients alike.</summary>
    public const int Id = 5283;

    /// <summary>The published records a subscriber receives (also journaled by the nodes).</summary>
    private static readonly Dictionary<Type, string> EventManifests = new()
    {
        [typeof(SessionEvent)] = "SessionEvent.v2",
    };

    /// <summary>Manifests of older versions of <see cref="EventManifests"/> and the type that reads them.</summary>
    private static readonly Dictionary<string, Type> OlderEventManifests = new()
    {
        ["SessionEvent.v1"] = typeof(SessionEvent),
    };

    private static readonly IReadOnlyDictionary<Type, string> ProtocolWireManifests = WireManifestsOf(typeof(IWireMessage).Assembly, EventManifests);

    /// <summary>How the manifests of messages between systems begin (<c>wire.Name.v1</c>).</summary>
    private const string WirePrefix = "wire.";

    private readonly Dictionary<Type, string> _manifests;
    private readonly Dictionary<string, Type> _readers;
    private readonly JsonSerializerOptions _options;

    /// <summary>
    /// The options that read messages between systems (<c>wire.</c> manifests): a field the message's type requires
    /// (a constructor parameter of a reference type, not nullable, without a default) that is missing or null makes it unreadable, so that
    /// a malformed message from another system is dropped by remoting instead of reaching an actor with a null where
    /// none can be. Journal records are read as they were written, by older versions too.
    /// </summary>
    private readonly JsonSerializerOptions _wireOptions;

    /// <summary>Created by Akka with the system it serves (which resolves the actor references it reads).</summary>
    public ProtocolSerializer(ExtendedActorSystem system)
        : this(system, EventManifests.Concat(ProtocolWireManifests), OlderEventManifests, ProtocolOptions(system, [new NoTokensJsonConverter()]))
    {
    }

    /// <summary>
    /// A serializer of <paramref name="manifests"/> (which the protocol's must be among), reading <paramref name="olderManifests"/>
    /// too, with <paramref name="options"/> for journal records and <paramref name="wireOptions"/> (default: the same) for
    /// the messages between systems.
    /// </summary>
    protected ProtocolSerializer(
        ExtendedActorSystem system, IEnumerable<KeyValuePair<Type, string>> manifests, IEnumerable<KeyValuePair<string, Type>> olderManifests, JsonSerializerOptions options,
        JsonSerializerOptions? wireOptions = null)
        : base(system)
    {
        _manifests = manifests.ToDictionary();
        _readers = _manifests.ToDictionary(m => m.Value, m => m.Key);
        foreach (var (manifest, type) in olderManifests) _readers[manifest] = type;
        _options = options;
        _wireOptions = new JsonSerializerOptions(wireOptions ?? options)
        {
            RespectNullableAnnotations = true,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { RequireNonNullableParameters } },
        };
    }

    /// <summary>A constructor parameter of a reference type that is neither nullable nor defaulted must be in the JSON.</summary>
    private static void RequireNonNullableParameters(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        foreach (var property in info.Properties)
            if (property.AssociatedParameter is { HasDefaultValue: false, IsNullable: false } && !property.PropertyType.IsValueType)
                property.IsRequired = true;
    }

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <summary>The manifests of the published records subscribers receive, by type.</summary>
    public static IReadOnlyDictionary<Type, string> CurrentEventManifests => EventManifests;

    /// <summary>The older manifests of the published records, and the type that reads each.</summary>
    public static IReadOnlyDictionary<string, Type> OlderEventManifestReaders => OlderEventManifests;

    /// <summary>The manifests of the protocol's messages, by type.</summary>
    public static IReadOnlyDictionary<Type, string> CurrentWireManifests => ProtocolWireManifests;

    /// <summary>
    /// The manifests of the <see cref="IWireMessage"/>s of <paramref name="assembly"/> that <paramref name="listed"/> does not
    /// name: <c>wire.Name.v1</c> each. A layout change adds a version to a listed table as for journal records.
    /// </summary>
    public static IReadOnlyDictionary<Type, string> WireManifestsOf(Assembly assembly, IReadOnlyDictionary<Type, string> listed) => assembly.GetTypes()
        .Where(t => typeof(IWireMessage).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false } && !listed.ContainsKey(t))
        .ToDictionary(t => t, t => WirePrefix + t.Name + ".v1");

    /// <summary>
    /// JSON options with <paramref name="tokenConverters"/> (how tokens are written and read). Actor references
    /// (a subscriber of session events) are written as paths with address and resolved by <paramref name="system"/>.
    /// Strings are escaped only where JSON requires it: the default encoder writes each <c>+</c> of the encrypted tokens'
    /// base64 as <c>\u002B</c>, six bytes for one (67 of a SessionRefreshed's 1,146 bytes, measured), and non-ASCII text as
    /// escapes, for the sake of HTML pages these bytes never reach (the journal and the nodes' messages). Both read the same.
    /// </summary>
    protected static JsonSerializerOptions ProtocolOptions(ExtendedActorSystem? system, IEnumerable<JsonConverter> tokenConverters)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        foreach (var converter in tokenConverters) options.Converters.Add(converter);
        options.Converters.Add(new ActorRefJsonConverter(system));
        options.Converters.Add(new JsonStringEnumConverter());
        return options;
    }

    /// <inheritdoc />
    public override string Manifest(object o) =>
        _manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType().Name} has no manifest in {GetType().Name}");

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        Manifest(obj);
        if (obj is Protocol.AsTrustedClient trusted)
            return JsonSerializer.SerializeToUtf8Bytes(new TrustedEnvelope(trusted.Client, trusted.Secret, Manifest(trusted.Message),
                JsonSerializer.SerializeToElement(trusted.Message, trusted.Message.GetType(), _options)), _options);
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), _options);
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!_readers.TryGetValue(manifest, out var type))
            throw new SerializationException($"unknown manifest '{manifest}' for {GetType().Name}");
        if (type == typeof(Protocol.AsTrustedClient))
        {
            var envelope = JsonSerializer.Deserialize<TrustedEnvelope>(bytes, _wireOptions) ?? throw new SerializationException("a stored AsTrustedClient is null");
            if (!_readers.TryGetValue(envelope.Manifest, out var inner) || !typeof(IWireMessage).IsAssignableFrom(inner) || inner == type)
                throw new SerializationException($"an AsTrustedClient cannot carry manifest '{envelope.Manifest}'");
            var message = (IWireMessage)(envelope.Message.Deserialize(inner, _wireOptions) ?? throw new SerializationException($"the {inner.Name} of an AsTrustedClient is null"));
            return new Protocol.AsTrustedClient(envelope.Client, envelope.Secret, message);
        }
        var options = manifest.StartsWith(WirePrefix, StringComparison.Ordinal) ? _wireOptions : _options;
        return JsonSerializer.Deserialize(bytes, type, options) ?? throw new SerializationException($"a stored {type.Name} is null");
    }

    /// <summary>How an <see cref="Protocol.AsTrustedClient"/> is written: its message with the message's own manifest.</summary>
    private sealed record TrustedEnvelope(string Client, string Secret, string Manifest, JsonElement Message);
}
