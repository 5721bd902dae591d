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
using static Supervisor.Actors.Keys.KeyEvents;
using Supervisor.Actors.Audit;

namespace Supervisor.Actors.Serialization;

/// <summary>
/// Serializes every <see cref="IJournaled"/> type as System.Text.Json with a versioned string manifest
/// (<c>Name.vN</c>). Tokens are encrypted with the <see cref="TokenCipher"/> from
/// <c>supervisor.encryption.keys</c> (v2 manifests); v1 records, written before encryption with plain
/// tokens, stay readable. A layout that older code cannot read takes a new version: readers for old manifests
/// stay in <c>OlderManifests</c>, so journals written by older code keep recovering. A field left out (or an optional
/// one added) keeps its manifest, since old and new code read both shapes, and a node of either version can still
/// recover an account the other wrote; the serializer spec reads each older shape.
/// </summary>
public sealed class SupervisorSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer id bound in hocon/supervisor.conf.</summary>
    public const int Id = 5283;

    private static readonly Dictionary<Type, string> Manifests = new()
    {
        [typeof(SessionEstablished)] = "SessionEstablished.v2",
        [typeof(RefreshStarted)] = "RefreshStarted.v1",
        [typeof(SessionRefreshed)] = "SessionRefreshed.v2",
        [typeof(SessionEnded)] = "SessionEnded.v1",
        [typeof(LogoutRequested)] = "LogoutRequested.v1",
        [typeof(SessionDeleted)] = "SessionDeleted.v1",
        [typeof(HandleVerified)] = "HandleVerified.v1",
        [typeof(AccountSnapshot)] = "AccountSnapshot.v2",
        [typeof(AccountRegistered)] = "AccountRegistered.v1",
        [typeof(AccountHandleChanged)] = "AccountHandleChanged.v1",
        [typeof(RegistrySnapshot)] = "RegistrySnapshot.v2",
        [typeof(LoginAttempted)] = "LoginAttempted.v1",
        [typeof(SessionEvent)] = "SessionEvent.v2",
        [typeof(KeyIssued)] = "KeyIssued.v1",
        [typeof(KeyRevoked)] = "KeyRevoked.v1",
        [typeof(KeyUsed)] = "KeyUsed.v1",
        [typeof(KeySessionOpened)] = "KeySessionOpened.v1",
        [typeof(KeySessionRotated)] = "KeySessionRotated.v1",
        [typeof(KeySessionClosed)] = "KeySessionClosed.v1",
        [typeof(KeysSnapshot)] = "KeysSnapshot.v1",
        [typeof(AuditEntry)] = "AuditEntry.v1",
        [typeof(AuditTrail.AuditSnapshot)] = "AuditSnapshot.v1",
        [typeof(OwnerClaimed)] = "OwnerClaimed.v1",
        [typeof(AccountRested)] = "AccountRested.v1",
        [typeof(LegacyRegistryImported)] = "LegacyRegistryImported.v1",
        [typeof(RegistryBucketSnapshot)] = "RegistryBucketSnapshot.v1",
    };

    /// <summary>
    /// Messages between nodes (<see cref="IWireMessage"/>): <c>Name.v1</c> each, unless listed above. A layout change
    /// adds a version here as for journal records.
    /// </summary>
    private static readonly Dictionary<Type, string> WireManifests = typeof(IWireMessage).Assembly.GetTypes()
        .Where(t => typeof(IWireMessage).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false } && !Manifests.ContainsKey(t))
        .ToDictionary(t => t, t => "wire." + t.Name + ".v1");

    /// <summary>What is never written without a token key: the records that carry tokens.</summary>
    private static readonly HashSet<Type> CarryTokens =
    [
        typeof(SessionEstablished), typeof(SessionRefreshed), typeof(AccountSnapshot), typeof(SessionEvent),
        typeof(AdoptSession), typeof(HeldEventsHandover), typeof(SessionEventHub.PublishedSessionEvent),
    ];

    /// <summary>Manifests of older versions and the type that reads them (v1: tokens in plain text).</summary>
    private static readonly Dictionary<string, Type> OlderManifests = new()
    {
        ["SessionEstablished.v1"] = typeof(SessionEstablished),
        ["SessionRefreshed.v1"] = typeof(SessionRefreshed),
        ["AccountSnapshot.v1"] = typeof(AccountSnapshot),
        ["SessionEvent.v1"] = typeof(SessionEvent),
        ["RegistrySnapshot.v1"] = typeof(RegistrySnapshot),
    };

    private readonly JsonSerializerOptions _options;
    private readonly Dictionary<string, Type> _readers;

    /// <summary>Created by Akka with the system whose config holds the token keys.</summary>
    public SupervisorSerializer(ExtendedActorSystem system) : this(system, TokenCipher.FromConfig(system.Settings.Config))
    {
    }

    private SupervisorSerializer(ExtendedActorSystem system, TokenCipher? cipher) : base(system)
    {
        Cipher = cipher;
        _options = OptionsWith(cipher, system);
        _readers = Manifests.Concat(WireManifests).ToDictionary(m => m.Value, m => m.Key);
        foreach (var (manifest, type) in OlderManifests) _readers[manifest] = type;
    }

    /// <summary>The cipher of the tokens; null when no key is configured (then nothing with tokens can be written).</summary>
    public TokenCipher? Cipher { get; }

    /// <inheritdoc />
    public override int Identifier => Id;

    /// <summary>The manifests this serializer writes for journal records, by type.</summary>
    public static IReadOnlyDictionary<Type, string> CurrentManifests => Manifests;

    /// <summary>The manifests of the messages between nodes, by type.</summary>
    public static IReadOnlyDictionary<Type, string> CurrentWireManifests => WireManifests;

    /// <summary>
    /// JSON options; without a cipher tokens are written in plain text (for tests that compare values). Actor references
    /// (a subscriber of session events) are written as paths with address and resolved by <paramref name="system"/>.
    /// Strings are escaped only where JSON requires it: the default encoder writes each <c>+</c> of the encrypted tokens'
    /// base64 as <c>\u002B</c>, six bytes for one (67 of a SessionRefreshed's 1,146 bytes, measured), and non-ASCII text as
    /// escapes, for the sake of HTML pages these bytes never reach (the journal and the nodes' messages). Both read the same.
    /// </summary>
    internal static JsonSerializerOptions OptionsWith(TokenCipher? cipher, ExtendedActorSystem? system = null) => new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters =
        {
            new SessionTokensJsonConverter(cipher), new SecretTokenJsonConverter(cipher), new ActorRefJsonConverter(system), new JsonStringEnumConverter(),
        },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <inheritdoc />
    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var manifest) || WireManifests.TryGetValue(o.GetType(), out manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType().Name} has no manifest in {nameof(SupervisorSerializer)}");

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        Manifest(obj);
        if (Cipher is null && CarryTokens.Contains(obj.GetType()))
            throw new TokenKeyException("no token key is configured (supervisor.encryption.keys): tokens are never written in plain text");
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), _options);
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!_readers.TryGetValue(manifest, out var type))
            throw new SerializationException($"unknown manifest '{manifest}' for {nameof(SupervisorSerializer)}");
        return JsonSerializer.Deserialize(bytes, type, _options) ?? throw new SerializationException($"a stored {type.Name} is null");
    }
}
