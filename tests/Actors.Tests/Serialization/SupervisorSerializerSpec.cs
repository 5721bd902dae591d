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
        new RefreshStarted(At),
        new SessionRefreshed(Grant with { Active = false, Status = "deactivated" }, At),
        new SessionEnded(SessionEndReason.TakenDown, new XrpcError("AccountTakedown", "Account has been taken down"), At),
        new LogoutRequested(At),
        new HandleVerified("alice.example.com", At),
        new SessionDeleted(At),
        new AccountSnapshot(new AccountState(Did, "alice.test", "http://entryway", Grant, true, new SecretToken(Tokens.RefreshJwt),
            new SessionEnd(SessionEndReason.NeedsLogin, new XrpcError("ExpiredToken", "Token has been revoked"), At), false, 3, 2, At, At,
            LaterDeletions: [new SecretToken(Tokens.AccessJwt)], PendingDeletionService: "http://entryway", LaterDeletionServices: ["http://pds"])),
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
            [new KeySession("sid-1", "0123456789abcdef", "jti-2", "jti-1", At, At.AddDays(90))],
            [new KeySessionCalls("0123456789abcdef", [At, At.AddMinutes(1)], [At.AddHours(2)])]),
        new AuditEntry(At, "SessionExported", Did, "key:0123456789abcdef", "Python"),
        new AuditTrail.AuditSnapshot([new AuditEntry(At, "LoggedOut", Did, "admin")]),
        new OwnerClaimed("akka.tcp://supervisor@127.0.0.1:4053#123", At),
        new AccountRested(Did, At.AddHours(1), Status),
        new AccountWoke(Did),
        new LegacyRegistryImported(2),
        new RegistryBucketSnapshot([new RegistryBucketEntry(Did, "alice.test", At, Status, true), new RegistryBucketEntry("did:plc:other", null, null, null)], true),
    };

    private static readonly AccountStatus Status = new(Did, "alice.test", "http://entryway", "http://pds", AccountStateName.Active, "com.atproto.access",
        At, At.AddDays(90), At, 3, 1, new XrpcError("ExpiredToken", "Token has expired"), 0, 0, null, "akka.tcp://supervisor@127.0.0.1:4053");

    /// <summary>One of every message that may cross between nodes.</summary>
    public static TheoryData<object> EveryWireType() => new()
    {
        new AccountCommands.CallXrpc(Did, new XrpcRequest("app.bsky.feed.post", XrpcMethodKind.Procedure, [new("a", "b")], [1, 2, 0, 255], "image/png",
            new Dictionary<string, string> { ["atproto-proxy"] = "did:web:x#y" })),
        new AccountCommands.BorrowAccessToken(Did, "com.atproto.repo.uploadBlob", true),
        new AccountCommands.Login("http://entryway", "alice.test", "not-a-real-password", "ABCDE-12345"),
        new AccountCommands.CreateAccount("http://entryway", "alice.test", "alice@example.test", "not-a-real-password", "invite-1"),
        new AccountCommands.ImportSession("alice.test:::" + Did + ":::x:::y:::http://pds", "http://entryway", false),
        AccountCommands.GetSupervisorCounts.Instance,
        new AccountCommands.ListAccounts(AccountStateName.NeedsLogin, "bsky", 10, "ZGlkOnBsYzpvdGhlcg"),
        AccountCommands.GetAccountCounts.Instance,
        new AccountCommands.SubscribeSessionEvents(Akka.Actor.ActorRefs.Nobody, Did, false),
        new AccountCommands.UnsubscribeSessionEvents(Akka.Actor.ActorRefs.Nobody),
        new AccountReplies.RefusedToClient("ExportSession", new XrpcError("NotAllowedToClients", "an exported session holds the account's tokens")),
        new AsTrustedClient("ops", "not-a-real-secret", new AccountCommands.ExportSession(Did, SessionFormat.Json)),
        new TrustedSessionEvent(new SessionEvent(SessionEventKind.Refresh, Did, "alice.test", "http://entryway", AccountStateName.Active, null, At), Tokens.AccessJwt, Tokens.RefreshJwt),
        new AccountCommands.ReturnAccessToken(Did, 7, 400, "ExpiredToken", "Token has expired"),
        new AccountCommands.GetAccountStatus("alice.test"),
        new AccountCommands.ExportSession(Did, SessionFormat.Json, "admin"),
        new AccountCommands.RefreshNow(Did),
        new AccountCommands.Logout(Did, "key:0123"),
        new AccountReplies.SessionStarted(Status, SessionOrigin.Login),
        new AccountReplies.SessionRejected(SessionRejection.RateLimited, new XrpcError("RateLimitExceeded", "later"), At),
        new AccountReplies.AccountUnavailable(Did, AccountStateName.Degraded, new XrpcError("Degraded", "the last refresh failed"), At),
        new AccountReplies.AccessTokenLent(Did, 7, "http://pds", Tokens.AccessJwt, At, Akka.Actor.ActorRefs.Nobody),
        new AccountReplies.AccountNotFound("nobody.test"),
        new AccountReplies.AccountMoved(Did),
        new AccountReplies.SupervisorCounts(3, 2, 1),
        new AccountReplies.AccountList([Status, Status with { Did = "did:plc:other" }], "ZGlkOnBsYzpvdGhlcg"),
        new AccountReplies.InvalidQuery(new XrpcError("InvalidRequest", "limit must be 1..1000")),
        new AccountReplies.SessionExported(Did, SessionFormat.Python, "alice.test:::" + Did + ":::x:::y:::http://pds"),
        new AccountReplies.LoggedOut(Did),
        new AccountReplies.LogoutPending(Did, new XrpcError("InternalServerError", "oops"), At),
        new AccountReplies.RefreshCompleted(Status),
        Status,
        new XrpcResponse(200, [0, 1, 2, 255], "application/octet-stream", null, new RateLimitInfo(3000, 2999, At, "3000;w=300"),
            new Dictionary<string, string> { ["atproto-repo-rev"] = "3k" }),
        new AdoptSession(Grant, "http://entryway", SessionOrigin.Import, true, "claimed.test"),
        WakeToRefresh.Instance,
        CheckHandle.Instance,
        new HeldEventsHandover(Did, [new RefreshStarted(At), new SessionRefreshed(Grant, At)]),
        new HeldEventsHandover(Did, [new RefreshStarted(At)], new SessionRefreshed(Grant, At)),
        new AuthFactorRequested("https://pds.example"),
        new AuthFactorRequested(),
        new RegistryCommands.RegisterAccount(Did, "alice.test", true),
        new RegistryCommands.AccountRegistration(Did, true),
        new RegistryCommands.AccountRunning(Status),
        new RegistryCommands.AccountResting(Did, At.AddHours(1), Status),
        new RegistryCommands.ListBucket(new AccountCommands.ListAccounts(AccountStateName.Active, "alice", 50, "ZGlkOnBsYzpvdGhlcg")),
        RegistryCommands.CountBucket.Instance,
        new AccountReplies.AccountCounts(3, new Dictionary<AccountStateName, int> { [AccountStateName.Active] = 2, [AccountStateName.NeedsLogin] = 1 }, 1, 2, 0),
        RegistryCommands.GetDirectory.Instance,
        new RegistryCommands.BucketDirectory(4, [new RegistryEntry(Did, "alice.test")]),
        new RegistryCommands.DirectoryChanged(Did, null),
        new RegistryCommands.LookupAccount(Did),
        RegistryCommands.KeepBucketAwake.Instance,
        new RegistryEntry(Did, "alice.test"),
        new Supervisor.Actors.Limits.LoginBudgetBucket.SpendLogin("0123456789abcdef", [new Supervisor.Actors.Limits.BudgetWindow(30, TimeSpan.FromMinutes(5))]),
        new Supervisor.Actors.Limits.LoginBudgetBucket.LoginAllowed("0123456789abcdef"),
        new Supervisor.Actors.Limits.LoginBudgetBucket.LoginNotCounted("0123456789abcdef"),
        new Supervisor.Actors.Limits.LoginBudgetBucket.LoginBudgetSpent("0123456789abcdef", At, new Supervisor.Actors.Limits.BudgetWindow(300, TimeSpan.FromDays(1))),
        new SessionEventHub.PublishedSessionEvent(new SessionEvent(SessionEventKind.Refresh, Did, "alice.test", "http://entryway", AccountStateName.Active, null, At, Grant)),
        new KeyCommands.IssueKey("0123456789abcdef", new string('a', 64), Did, "bot", At.AddDays(30), ["com.atproto.server.createAppPassword"], "admin"),
        new KeyCommands.KeyIssuedReply(Key, 12),
        new KeyCommands.RevokeKey("0123456789abcdef", "admin"),
        new KeyCommands.KeyRevokedReply(Key with { RevokedAt = At }, 13),
        new KeyCommands.KeyNotFound("0123456789abcdef"),
        new KeyCommands.RecordKeyUse("0123456789abcdef"),
        new KeyCommands.OpenKeySession("0123456789abcdef", At.AddDays(90)),
        new KeyCommands.RotateKeySession("sid-1", "jti-2"),
        new KeyCommands.CloseKeySession("sid-1", "jti-2"),
        new KeyCommands.KeySessionReply(new KeySession("sid-1", "0123456789abcdef", "jti-2", "jti-1", At, At.AddDays(90)), 14),
        new KeyCommands.KeySessionRefused("Token has been revoked"),
        new KeyCommands.KeySessionsSpent(At.AddMinutes(5), new Supervisor.Actors.Limits.BudgetWindow(30, TimeSpan.FromMinutes(5))),
        new KeyReplication.KeyEventJournaled(15, new KeySessionRotated("sid-1", "jti-3", At)),
        new KeyReplication.KeysJournaledUpTo(15),
        new KeyReplication.RegisterReplica(Akka.Actor.ActorRefs.Nobody),
        new KeyReplication.KeysHeld(Akka.Actor.ActorRefs.Nobody, 15),
        new AuditTrail.GetAuditEntries(100, At),
        new AuditTrail.AuditEntries([new AuditEntry(At, "KeyIssued", Did, "admin", "key 0123456789abcdef")]),
    };

    private static readonly AccountKeyInfo Key = new("0123456789abcdef", Did, "bot", new string('a', 64), null, ["com.atproto.server.createAppPassword"], "admin", At, At, null);

    [Theory]
    [MemberData(nameof(EveryWireType))]
    public void Every_message_between_nodes_round_trips_through_its_versioned_manifest(object value)
    {
        var serializer = Sys.Serialization.FindSerializerFor(value);
        Assert.IsType<SupervisorSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, value);
        Assert.Matches(@"^wire\.\w+\.v\d+$", manifest);
        var back = Sys.Serialization.Deserialize(serializer.ToBinary(value), serializer.Identifier, manifest);
        Assert.Equal(value.GetType(), back.GetType());
        Assert.Equal(Canonical(value), Canonical(back));
    }

    [Fact]
    public void Every_message_between_nodes_is_covered_by_the_round_trip_spec()
    {
        var covered = EveryWireType().Cast<object[]>().Select(row => row[0].GetType()).ToHashSet();
        Assert.Equal(SupervisorSerializer.CurrentWireManifests.Keys.Select(t => t.FullName).Order(), covered.Select(t => t.FullName).Order());
    }

    [Fact]
    public void A_subscriber_crosses_the_wire_as_its_path_and_resolves_to_the_same_actor()
    {
        var subscriber = CreateTestProbe().Ref;
        var subscribe = new AccountCommands.SubscribeSessionEvents(subscriber, Did);
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(subscribe);
        var wire = serializer.ToBinary(subscribe);
        Assert.Contains(subscriber.Path.Name, System.Text.Encoding.UTF8.GetString(wire));
        var back = Assert.IsType<AccountCommands.SubscribeSessionEvents>(serializer.FromBinary(wire, serializer.Manifest(subscribe)));
        Assert.Equal(subscriber, back.Subscriber);
    }

    [Fact]
    public void Tokens_crossing_between_nodes_are_encrypted()
    {
        var adopt = new AdoptSession(Grant, "http://entryway", SessionOrigin.Login, false);
        var wire = System.Text.Encoding.UTF8.GetString(Sys.Serialization.FindSerializerFor(adopt).ToBinary(adopt));
        Assert.DoesNotContain(Tokens.AccessJwt, wire);
        Assert.DoesNotContain(Tokens.RefreshJwt, wire);
    }

    [Fact]
    public void A_token_pair_in_plain_text_between_systems_builds_nothing_whoever_sent_it()
    {
        // What a holder of the cluster's certificate without its token key could send: a session of its own making.
        var adopt = new AdoptSession(Grant, "http://entryway", SessionOrigin.Login, false);
        var serializer = Sys.Serialization.FindSerializerFor(adopt);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, adopt);
        var sealedJson = System.Text.Json.Nodes.JsonNode.Parse(serializer.ToBinary(adopt))!;
        Assert.IsType<AdoptSession>(Sys.Serialization.Deserialize(serializer.ToBinary(adopt), serializer.Identifier, manifest)); // sealed: read

        var tokens = sealedJson["Grant"]?["Tokens"] ?? sealedJson["grant"]!["tokens"]!;
        tokens["accessJwt"] = Tokens.AccessJwt;
        tokens["refreshJwt"] = Tokens.RefreshJwt;
        var forged = System.Text.Encoding.UTF8.GetBytes(sealedJson.ToJsonString());
        var refused = Assert.ThrowsAny<Exception>(() => Sys.Serialization.Deserialize(forged, serializer.Identifier, manifest));
        Assert.Contains("sealed with the cluster's token key", refused.ToString());
        Assert.Empty(Secrets.JwtsIn(refused.ToString()));

        // Nor a pair without tokens, or with something else in their place (read from a journal as an unusable pair).
        foreach (var hollow in new System.Text.Json.Nodes.JsonNode[] { new System.Text.Json.Nodes.JsonObject(), System.Text.Json.Nodes.JsonNode.Parse("""{"accessJwt":1,"refreshJwt":[]}""")! })
        {
            var parent = sealedJson["Grant"] ?? sealedJson["grant"]!;
            parent[parent["Tokens"] is null ? "tokens" : "Tokens"] = hollow;
            var bytes = System.Text.Encoding.UTF8.GetBytes(sealedJson.ToJsonString());
            Assert.Contains("sealed with the cluster's token key", Assert.ThrowsAny<Exception>(() => Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest)).ToString());
        }
    }

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

    [Theory]
    [InlineData("wire.CallXrpc.v1", """{"accountId":"did:plc:x"}""")]
    [InlineData("wire.CallXrpc.v1", """{"accountId":"did:plc:x","request":null}""")]
    [InlineData("wire.CallXrpc.v1", """{"accountId":"did:plc:x","request":{"kind":"Query"}}""")]
    [InlineData("wire.Login.v1", """{"service":"https://pds.example","identifier":"alice.test"}""")]
    [InlineData("wire.SubscribeSessionEvents.v1", """{"includeTokens":false}""")]
    [InlineData("wire.UnsubscribeSessionEvents.v1", """{"subscriber":null}""")]
    [InlineData("wire.AsTrustedClient.v1", """{"client":"c","secret":"s","manifest":"wire.CallXrpc.v1","message":{"accountId":"did:plc:x"}}""")]
    public void A_message_from_another_system_missing_a_field_its_type_requires_is_unreadable_not_an_actor_handed_a_null(string manifest, string json)
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(AccountCommands.CallXrpc));
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(json), manifest));
        // The same message whole is read.
        var whole = new AccountCommands.CallXrpc("did:plc:x", XrpcRequest.Query("app.bsky.actor.getProfile"));
        Assert.Equal(whole.Request.Nsid, Assert.IsType<AccountCommands.CallXrpc>(serializer.FromBinary(serializer.ToBinary(whole), "wire.CallXrpc.v1")).Request.Nsid);
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

    [Fact]
    public void A_keys_snapshot_written_before_the_session_budgets_reads_with_no_counts()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(KeysSnapshot));
        var older = System.Text.Encoding.UTF8.GetBytes("""{"keys":[],"sessions":[{"sid":"sid-1","keyId":"0123456789abcdef","jti":"jti-2","previousJti":null,"rotatedAt":null,"expiresAt":"2027-03-01T12:00:00+00:00"}]}""");
        var back = Assert.IsType<KeysSnapshot>(serializer.FromBinary(older, "KeysSnapshot.v1"));
        Assert.Equal("sid-1", Assert.Single(back.Sessions).Sid);
        Assert.Null(back.Calls);
    }

    [Fact]
    public void A_refresh_intent_written_with_the_refresh_tokens_id_still_reads()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(RefreshStarted));
        var older = System.Text.Encoding.UTF8.GetBytes("""{"refreshTokenId":"hG0XIbc8hL5vjUfSd9uISMcQufsBbhMdpi9SnEeGlwI","at":"2026-11-24T12:00:00+00:00"}""");
        Assert.Equal(new RefreshStarted(At), serializer.FromBinary(older, "RefreshStarted.v1"));
    }

    [Fact]
    public void A_snapshot_holds_each_token_once_and_one_written_with_the_pair_twice_still_reads()
    {
        var snapshot = new AccountSnapshot(new AccountState(Did, "alice.test", "http://entryway", Grant, RefreshCount: 3, LoginCount: 1, LastRefreshAt: At));
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(snapshot);
        var stored = System.Text.Encoding.UTF8.GetString(serializer.ToBinary(snapshot));
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(stored, TokenCipher.Prefix));
        // As AccountSnapshot.v2 was written before: the state's pair a second time ("tokens") and its PDS ("pds").
        var older = Canonical(snapshot).Replace("\"refreshCount\"", "\"pds\":\"http://localhost:2583\",\"tokens\":" + Canonical(Tokens) + ",\"refreshCount\"");
        Assert.Contains("\"tokens\"", older);
        var back = Assert.IsType<AccountSnapshot>(serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(older), "AccountSnapshot.v2"));
        Assert.Equal(Canonical(snapshot), Canonical(back));
    }

    [Fact]
    public void Strings_are_escaped_only_where_JSON_requires_it_and_escaped_ones_still_read()
    {
        var ended = new SessionEnded(SessionEndReason.NeedsLogin, new XrpcError("ExpiredToken", "jeton expiré + \"révoqué\" <b>"), At);
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(ended);
        var stored = System.Text.Encoding.UTF8.GetString(serializer.ToBinary(ended));
        Assert.Contains("""jeton expiré + \"révoqué\" <b>""", stored);
        var escaped = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(ended, new System.Text.Json.JsonSerializerOptions(SupervisorSerializer.OptionsWith(null))
        {
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default,
        });
        Assert.Contains("\\u002B", System.Text.Encoding.UTF8.GetString(escaped));
        Assert.Equal(ended, serializer.FromBinary(escaped, "SessionEnded.v1"));
    }

    // Records holding lists compare by reference; compare their serialized form instead (tokens in clear).
    internal static string Canonical(object value) =>
        System.Text.Json.JsonSerializer.Serialize(value, value.GetType(), SupervisorSerializer.OptionsWith(null));
}
