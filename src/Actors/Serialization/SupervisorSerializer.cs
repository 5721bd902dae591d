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
/// recover an account the other wrote; the serializer spec reads each older shape. The protocol's manifests are the
/// <see cref="ProtocolSerializer"/>'s (same id), so its clients and the nodes read each other.
/// </summary>
public sealed class SupervisorSerializer : ProtocolSerializer
{
    /// <summary>The journal's records; the session events' manifests are the protocol's.</summary>
    private static readonly Dictionary<Type, string> Manifests = new Dictionary<Type, string>
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
        [typeof(AccountWoke)] = "AccountWoke.v1",
        [typeof(LegacyRegistryImported)] = "LegacyRegistryImported.v1",
        [typeof(RegistryBucketSnapshot)] = "RegistryBucketSnapshot.v1",
    }.Concat(CurrentEventManifests).ToDictionary();

    /// <summary>
    /// Messages between nodes (<see cref="IWireMessage"/>): <c>wire.Name.v1</c> each, unless listed above, and the protocol's.
    /// A layout change adds a version here as for journal records.
    /// </summary>
    private static readonly Dictionary<Type, string> WireManifests = WireManifestsOf(typeof(SupervisorSerializer).Assembly, Manifests)
        .Concat(ProtocolSerializer.CurrentWireManifests).ToDictionary();

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
        ["RegistrySnapshot.v1"] = typeof(RegistrySnapshot),
    };

    /// <summary>Created by Akka with the system whose config holds the token keys.</summary>
    public SupervisorSerializer(ExtendedActorSystem system) : this(system, TokenCipher.FromConfig(system.Settings.Config))
    {
    }

    private SupervisorSerializer(ExtendedActorSystem system, TokenCipher? cipher)
        : base(system, Manifests.Concat(WireManifests), OlderManifests.Concat(OlderEventManifestReaders), OptionsWith(cipher, system),
            OptionsWith(cipher, system, sealedOnly: true))
    {
        Cipher = cipher;
    }

    /// <summary>The cipher of the tokens; null when no key is configured (then nothing with tokens can be written).</summary>
    public TokenCipher? Cipher { get; }

    /// <summary>The manifests this serializer writes for journal records, by type.</summary>
    public static IReadOnlyDictionary<Type, string> CurrentManifests => Manifests;

    /// <summary>The manifests of the messages between nodes (the protocol's among them), by type.</summary>
    public static new IReadOnlyDictionary<Type, string> CurrentWireManifests => WireManifests;

    /// <summary>JSON options (<see cref="ProtocolSerializer.ProtocolOptions"/>); without a cipher tokens are written in plain text (for tests that compare values).</summary>
    /// <remarks>
    /// With <paramref name="sealedOnly"/> (the messages between systems), a token pair read in plain text is refused: every
    /// node seals the pairs it sends (as it does those it journals), and clients send none, so a pair that is not sealed
    /// with the cluster's token key (an <see cref="Account.AdoptSession"/> or a handover made up outside the cluster)
    /// builds nothing, whoever it names as its sender.
    /// </remarks>
    internal static JsonSerializerOptions OptionsWith(TokenCipher? cipher, ExtendedActorSystem? system = null, bool sealedOnly = false) =>
        ProtocolOptions(system, [new SessionTokensJsonConverter(cipher, sealedOnly), new SecretTokenJsonConverter(cipher)]);

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        Manifest(obj);
        if (Cipher is null && CarryTokens.Contains(obj.GetType()))
            throw new TokenKeyException("no token key is configured (supervisor.encryption.keys): tokens are never written in plain text");
        return base.ToBinary(obj);
    }
}
