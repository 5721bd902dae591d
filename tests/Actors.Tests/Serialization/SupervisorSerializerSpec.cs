using Akka.Serialization;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Events;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Serialization;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;
using static Supervisor.Actors.Account.AccountEvents;
using static Supervisor.Actors.Accounts.RegistryEvents;
using static Supervisor.Actors.Keys.KeyEvents;
using Supervisor.Actors.Audit;
using Supervisor.Actors.Keys;

namespace Supervisor.Actors.Tests.Serialization;

public sealed class SupervisorSerializerSpec : Akka.TestKit.Xunit2.TestKit
{
    private const string Did = "did:plc:abcdefghijklmnopqrstuvwx";
    private static readonly DateTimeOffset At = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly SessionTokens Tokens = TestJwt.Pair(Did, At);
    private static readonly SessionGrant Grant = new(Did, "alice.test", Tokens, "a@example.com", true, true, null, "http://localhost:2583");

    private static readonly TestJournal Journal = new();

    public SupervisorSerializerSpec() : base(Journal.Config())
    {
    }

    public static TheoryData<object> EveryJournaledType() => new()
    {
        new SessionEstablished(SessionOrigin.Import, "http://entryway", Grant, At),
        new RefreshStarted("jti-1", At),
        new SessionRefreshed(Grant with { Active = false, Status = "deactivated" }, At),
        new SessionEnded(SessionEndReason.TakenDown, new XrpcError("AccountTakedown", "Account has been taken down"), At),
        new LogoutRequested(At),
        new HandleVerified("alice.example.com", At),
        new SessionDeleted(At),
        new AccountSnapshot(new AccountState(Did, "alice.test", "http://entryway", Grant, true, new SecretToken(Tokens.RefreshJwt),
            new SessionEnd(SessionEndReason.NeedsLogin, new XrpcError("ExpiredToken", "Token has been revoked"), At), false, 3, 2, At, At)),
        new AccountRegistered(Did, "alice.test"),
        new AccountHandleChanged(Did, "bob.test"),
        new RegistrySnapshot([new RegistryEntry(Did, "alice.test"), new RegistryEntry("did:plc:other", null)],
            [new LoginAttempts("0123456789abcdef0123456789abcdef", [At, At.AddMinutes(1)])]),
        new LoginAttempted("0123456789abcdef0123456789abcdef", At),
        new SessionEvent(SessionEventKind.Refresh, Did, "alice.test", "http://entryway", AccountStateName.Active, null, At, Grant),
        new KeyIssued("0123456789abcdef", Did, "bot", new string('a', 64), At.AddDays(30), ["com.atproto.server.getServiceAuth"], "admin", At),
        new KeyRevoked("0123456789abcdef", "admin", At),
        new KeyUsed("0123456789abcdef", At),
        new KeySessionOpened("sid-1", "0123456789abcdef", "jti-1", At.AddDays(90), At),
        new KeySessionRotated("sid-1", "jti-2", At),
        new KeySessionClosed("sid-1", At),
        new KeysSnapshot([new AccountKeyInfo("0123456789abcdef", Did, null, new string('a', 64), null, [], "admin", At, At, null)],
            [new KeySession("sid-1", "0123456789abcdef", "jti-2", "jti-1", At, At.AddDays(90))]),
        new AuditEntry(At, "SessionExported", Did, "key:0123456789abcdef", "Python"),
        new AuditTrail.AuditSnapshot([new AuditEntry(At, "LoggedOut", Did, "admin")]),
    };

    [Theory]
    [MemberData(nameof(EveryJournaledType))]
    public void Every_journaled_type_round_trips_through_its_versioned_manifest(object value)
    {
        var serializer = Sys.Serialization.FindSerializerFor(value);
        Assert.IsType<SupervisorSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, value);
        Assert.Matches(@"^\w+\.v\d+$", manifest);
        var bytes = serializer.ToBinary(value);
        Assert.Empty(Secrets.JwtsIn(System.Text.Encoding.UTF8.GetString(bytes)));
        var back = Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest);
        Assert.Equal(Canonical(value), Canonical(back));
    }

    [Fact]
    public void Every_manifest_is_covered_by_the_round_trip_spec()
    {
        var covered = EveryJournaledType().Cast<object[]>().Select(row => row[0].GetType()).ToHashSet();
        Assert.Equal(SupervisorSerializer.CurrentManifests.Keys.OrderBy(t => t.Name), covered.OrderBy(t => t.Name));
    }

    [Fact]
    public void An_unknown_manifest_is_an_error_not_garbage()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(LogoutRequested));
        Assert.ThrowsAny<Exception>(() => serializer.FromBinary("{}"u8.ToArray(), "Nothing.v9"));
    }

    [Fact]
    public void Tokens_are_encrypted_and_a_record_written_with_plain_tokens_by_version_1_still_reads()
    {
        var established = new SessionEstablished(SessionOrigin.Login, "http://entryway", Grant, At);
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(established);
        var stored = System.Text.Encoding.UTF8.GetString(serializer.ToBinary(established));
        Assert.Contains(TokenCipher.Prefix, stored);
        Assert.DoesNotContain(Tokens.AccessJwt, stored);
        var plain = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(established, SupervisorSerializer.OptionsWith(null));
        var back = Assert.IsType<SessionEstablished>(serializer.FromBinary(plain, "SessionEstablished.v1"));
        Assert.Equal(Tokens.RefreshJwt, back.Grant.Tokens.RefreshJwt);
    }

    [Fact]
    public void A_registry_snapshot_of_version_1_reads_with_no_login_attempts()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(new RegistrySnapshot([]));
        var v1 = System.Text.Encoding.UTF8.GetBytes($$"""{"accounts":[{"did":"{{Did}}","handle":"alice.test"}]}""");
        var back = Assert.IsType<RegistrySnapshot>(serializer.FromBinary(v1, "RegistrySnapshot.v1"));
        Assert.Equal(new RegistryEntry(Did, "alice.test"), Assert.Single(back.Accounts));
        Assert.Null(back.Logins);
    }

    // Records holding lists compare by reference; compare their serialized form instead (tokens in clear).
    private static string Canonical(object value) =>
        System.Text.Json.JsonSerializer.Serialize(value, value.GetType(), SupervisorSerializer.OptionsWith(null));
}
