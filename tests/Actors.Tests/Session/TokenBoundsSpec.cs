using System.Text;
using Akka.Serialization;
using Supervisor.Actors.Account;
using Supervisor.Actors.Serialization;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;
using static Supervisor.Actors.Account.AccountEvents;

namespace Supervisor.Actors.Tests.Session;

/// <summary>
/// Tokens whose times are absurd (year 1, year 31 million, issued after they expire) are refused at the door
/// with a clear reason, and those already in a journal recover as an ended session instead of an exception.
/// </summary>
public sealed class TokenBoundsSpec : Akka.TestKit.Xunit2.TestKit
{
    private const string Did = "did:plc:abcdefghijklmnopqrstuvwx";
    private static readonly DateTimeOffset At = DateTimeOffset.UtcNow;
    private static readonly TestJournal Journal = new();

    public TokenBoundsSpec() : base(Journal.Config())
    {
    }

    /// <summary>A JWT with the given claims JSON (no signature check is made by the supervisor).</summary>
    private static string Jwt(string typ, string claims) =>
        JwtClaims.EncodeSegment($$"""{"typ":"{{typ}}","alg":"HS256"}""") + "." + JwtClaims.EncodeSegment(claims) + ".c2ln";

    private static string Access(string times) => Jwt("at+jwt", $$"""{"scope":"com.atproto.access","sub":"{{Did}}",{{times}}}""");

    public static TheoryData<string, string> AbsurdTimes => new()
    {
        { "\"exp\":-62135596800", "exp claim outside 2000-01-01..2200-01-01" },
        { "\"exp\":1e15", "exp claim outside 2000-01-01..2200-01-01" },
        { "\"exp\":1000000000000000", "exp claim outside 2000-01-01..2200-01-01" },
        { "\"exp\":1800000000,\"iat\":-62135596800", "iat claim outside 2000-01-01..2200-01-01" },
        { "\"exp\":1800000000,\"iat\":1800000001", "iat claim after its exp claim" },
    };

    [Theory]
    [MemberData(nameof(AbsurdTimes))]
    public void A_token_with_absurd_times_is_refused_with_a_reason_that_does_not_quote_it(string times, string reason)
    {
        var access = Access(times);
        Assert.Null(JwtClaims.TryRead(access, out var problem));
        Assert.Contains(reason, problem);

        var refresh = TestJwt.Refresh(Did, At.AddDays(90), At);
        var refused = Assert.Throws<SessionFormatException>(() => ImportedSession.Parse($"alice.test:::{Did}:::{access}:::{refresh}"));
        Assert.Equal($"the access token has an {reason}", refused.Message);
        Assert.DoesNotContain(access.Split('.')[1], refused.Message);
    }

    [Fact]
    public void A_token_or_session_field_longer_than_any_PDS_sends_is_refused_with_a_reason_that_does_not_quote_it()
    {
        // A valid JWT padded with a claim of 20,000 characters: journaled at each refresh, held and sent with each request.
        var padded = Access($"\"exp\":1800000000,\"pad\":\"{new string('x', 20_000)}\"");
        Assert.Null(JwtClaims.TryRead(padded, out var problem));
        Assert.StartsWith($"is longer than {JwtClaims.LongestToken} characters", problem);
        Assert.NotNull(JwtClaims.TryRead(Access("\"exp\":1800000000"), out _));

        var pair = TestJwt.Pair(Did, At);
        string Session(string email) => $$"""{"did":"{{Did}}","handle":"alice.test","email":"{{email}}","accessJwt":"{{pair.AccessJwt}}","refreshJwt":"{{pair.RefreshJwt}}"}""";
        using var longEmail = System.Text.Json.JsonDocument.Parse(Session(new string('e', 3000) + "@example.com"));
        Assert.Equal($"'email' is longer than {SessionGrant.LongestField} characters (3012)",
            Assert.Throws<SessionFormatException>(() => SessionGrant.Parse(longEmail.RootElement)).Message);
        using var usual = System.Text.Json.JsonDocument.Parse(Session("alice@example.com"));
        Assert.Equal("alice@example.com", SessionGrant.Parse(usual.RootElement).Email);

        // The session string's handle and DID, as the JSON's.
        Assert.Equal($"'handle' is longer than {SessionGrant.LongestField} characters (3000)", Assert.Throws<SessionFormatException>(
            () => ImportedSession.Parse($"{new string('h', 3000)}:::{Did}:::{pair.AccessJwt}:::{pair.RefreshJwt}")).Message);
        Assert.Equal($"'did' is longer than {SessionGrant.LongestField} characters (3008)", Assert.Throws<SessionFormatException>(
            () => ImportedSession.Parse($"alice.test:::did:web:{new string('d', 3000)}:::{pair.AccessJwt}:::{pair.RefreshJwt}")).Message);
        Assert.Equal("alice.test", ImportedSession.Parse($"alice.test:::{Did}:::{pair.AccessJwt}:::{pair.RefreshJwt}").Grant.Handle);
    }

    [Fact]
    public void A_token_of_16_KiB_and_session_fields_of_2048_characters_are_read_and_one_character_more_is_refused()
    {
        // The README's bounds, at their edges: the signature (never decoded here) pads a valid token to the length wanted.
        var token = Access("\"exp\":1800000000");
        string Sized(int length) => token + new string('A', length - token.Length);
        Assert.NotNull(JwtClaims.TryRead(Sized(16_384), out _));
        Assert.Null(JwtClaims.TryRead(Sized(16_385), out var problem));
        Assert.StartsWith("is longer than 16384 characters", problem);

        var pair = TestJwt.Pair(Did, At);
        foreach (var field in new[] { "email", "status" })
        {
            SessionGrant Parse(int length)
            {
                using var json = System.Text.Json.JsonDocument.Parse(
                    $$"""{"did":"{{Did}}","handle":"alice.test","{{field}}":"{{new string('x', length)}}","accessJwt":"{{pair.AccessJwt}}","refreshJwt":"{{pair.RefreshJwt}}"}""");
                return SessionGrant.Parse(json.RootElement);
            }
            Assert.NotNull(Parse(2_048));
            Assert.Equal($"'{field}' is longer than 2048 characters (2049)", Assert.Throws<SessionFormatException>(() => Parse(2_049)).Message);
        }
    }

    [Fact]
    public void Times_within_the_range_still_read_as_they_are()
    {
        var claims = JwtClaims.TryRead(Access("\"exp\":1800000000.5,\"iat\":1799992800"), out _);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1800000000), claims!.ExpiresAt);
        Assert.Equal(TimeSpan.FromHours(2), claims.Lifetime);
    }

    [Fact]
    public void A_journaled_session_with_a_token_of_year_1_recovers_as_needing_a_login()
    {
        // As version 1 wrote it (plain tokens), from the time such a token was accepted.
        var poison = Access("\"exp\":-62135596800");
        var refresh = TestJwt.Refresh(Did, At.AddDays(90), At);
        var stored = $$"""
            {"origin":"Import","service":"http://pds.example","grant":{"did":"{{Did}}","handle":"alice.test","tokens":{"accessJwt":"{{poison}}","refreshJwt":"{{refresh}}"},"active":true},"at":"2026-11-20T10:00:00+00:00"}
            """;
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(SessionEstablished));
        var established = Assert.IsType<SessionEstablished>(serializer.FromBinary(Encoding.UTF8.GetBytes(stored), "SessionEstablished.v1"));
        Assert.NotNull(established.Grant.Tokens.Problem);

        var state = AccountRules.Apply(new AccountState(Did), established);
        Assert.Null(state.Session);
        Assert.Equal("alice.test", state.Handle);
        Assert.Equal(SessionEndReason.NeedsLogin, state.Ended!.Reason);
        Assert.Equal(AccountRules.InvalidStoredSession, state.Ended.Error.Error);
        Assert.StartsWith("the stored session is invalid (the access token has an exp claim outside", state.Ended.Error.Message);
        Assert.DoesNotContain(poison.Split('.')[1], state.Ended.Error.Message);
    }

    [Fact]
    public void A_refreshed_pair_or_a_snapshot_that_no_longer_validates_ends_the_session_too()
    {
        var good = new SessionGrant(Did, "alice.test", TestJwt.Pair(Did, At));
        var state = AccountRules.Apply(new AccountState(Did), new SessionEstablished(SessionOrigin.Login, "http://pds.example", good, At));
        var bad = good with { Tokens = SessionTokens.Unusable("a", "r", "the refresh token has an exp claim outside 2000-01-01..2200-01-01") };

        var refreshed = AccountRules.Apply(state with { RefreshPending = true }, new SessionRefreshed(bad, At));
        Assert.Null(refreshed.Session);
        Assert.False(refreshed.RefreshPending);
        Assert.Equal(AccountRules.InvalidStoredSession, refreshed.Ended!.Error.Error);

        var restored = AccountRules.Restore(state with { Session = bad }, At);
        Assert.Null(restored.Session);
        Assert.Equal(SessionEndReason.NeedsLogin, restored.Ended!.Reason);
        Assert.Same(state, AccountRules.Restore(state, At));
    }

    [Fact]
    public void A_stored_pair_that_validates_is_read_as_before()
    {
        var tokens = TestJwt.Pair(Did, At);
        var established = new SessionEstablished(SessionOrigin.Login, "http://pds.example", new SessionGrant(Did, "alice.test", tokens), At);
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(established);
        var back = Assert.IsType<SessionEstablished>(serializer.FromBinary(serializer.ToBinary(established), serializer.Manifest(established)));
        Assert.Null(back.Grant.Tokens.Problem);
        Assert.Equal(tokens.AccessExpiresAt, back.Grant.Tokens.AccessExpiresAt);
        Assert.NotNull(AccountRules.Apply(new AccountState(Did), back).Session);
    }
}
