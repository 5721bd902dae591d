using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Events;
using static Supervisor.Actors.Account.AccountEvents;
using static Supervisor.Actors.Accounts.RegistryEvents;

namespace Supervisor.Actors.Serialization;

/// <summary>
/// Serializes every <see cref="IJournaled"/> type as System.Text.Json with a versioned string manifest
/// (<c>Name.vN</c>). A type's layout may change only by adding a new version: readers for old manifests
/// stay in <see cref="Readers"/>, so journals written by older code keep recovering.
/// </summary>
public sealed class SupervisorSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>The serializer id bound in hocon/supervisor.conf.</summary>
    public const int Id = 5283;

    internal static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new SessionTokensJsonConverter(), new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly Dictionary<Type, string> Manifests = new()
    {
        [typeof(SessionEstablished)] = "SessionEstablished.v1",
        [typeof(RefreshStarted)] = "RefreshStarted.v1",
        [typeof(SessionRefreshed)] = "SessionRefreshed.v1",
        [typeof(SessionEnded)] = "SessionEnded.v1",
        [typeof(LogoutRequested)] = "LogoutRequested.v1",
        [typeof(SessionDeleted)] = "SessionDeleted.v1",
        [typeof(AccountSnapshot)] = "AccountSnapshot.v1",
        [typeof(AccountRegistered)] = "AccountRegistered.v1",
        [typeof(AccountHandleChanged)] = "AccountHandleChanged.v1",
        [typeof(RegistrySnapshot)] = "RegistrySnapshot.v1",
        [typeof(SessionEvent)] = "SessionEvent.v1",
    };

    /// <summary>How each manifest ever written is read: the current ones, and upcasters for older versions.</summary>
    private static readonly Dictionary<string, Func<byte[], object>> Readers =
        Manifests.ToDictionary(m => m.Value, m => (Func<byte[], object>)(bytes => Read(bytes, m.Key)));

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <summary>The manifests this serializer writes, by type.</summary>
    public static IReadOnlyDictionary<Type, string> CurrentManifests => Manifests;

    /// <inheritdoc />
    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType().Name} has no manifest in {nameof(SupervisorSerializer)}");

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        Manifest(obj);
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options);
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest) =>
        Readers.TryGetValue(manifest, out var read)
            ? read(bytes)
            : throw new SerializationException($"unknown manifest '{manifest}' for {nameof(SupervisorSerializer)}");

    private static object Read(byte[] bytes, Type type) =>
        JsonSerializer.Deserialize(bytes, type, Options)
        ?? throw new SerializationException($"a stored {type.Name} is null");
}
