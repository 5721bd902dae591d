using System.Text.Json;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Session;

public sealed class SessionImportSpec
{
    private const string Did = "did:plc:abcdefghijklmnopqrstuvwx";
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly SessionTokens _tokens = TestJwt.Pair(Did, Now);

    [Fact]
    public void A_five_field_python_session_string_is_read_with_its_pds_endpoint()
    {
        var text = $"alice.test:::{Did}:::{_tokens.AccessJwt}:::{_tokens.RefreshJwt}:::http://localhost:2583";
        var imported = ImportedSession.Parse(text);
        Assert.Equal("alice.test", imported.Grant.Handle);
        Assert.Equal(Did, imported.Grant.Did);
        Assert.Equal(_tokens.AccessJwt, imported.Grant.Tokens.AccessJwt);
        Assert.Equal(_tokens.RefreshJwt, imported.Grant.Tokens.RefreshJwt);
        Assert.Equal("http://localhost:2583", imported.Grant.PdsEndpoint);
        Assert.Equal("http://localhost:2583", imported.Service);
    }

    [Fact]
    public void SessionData_whose_service_is_not_a_readable_string_is_refused_as_a_bad_session()
    {
        var json = SessionExport.ToSessionData(new SessionGrant(Did, "alice.test", _tokens, "a@example.com", true), "http://entryway.example")
            .Replace("\"http://entryway.example\"", "\"\\ud800\"", StringComparison.Ordinal);
        var refused = Assert.Throws<SessionFormatException>(() => ImportedSession.Parse(json));
        Assert.Equal("'service' is a string that is not valid UTF-8", refused.Message);
    }

    [Fact]
    public void The_older_four_field_python_form_falls_back_to_the_given_service()
    {
        var text = $"alice.test:::{Did}:::{_tokens.AccessJwt}:::{_tokens.RefreshJwt}";
        Assert.Equal(ImportedSession.DefaultService, ImportedSession.Parse(text).Service);
        Assert.Equal("http://127.0.0.1:9", ImportedSession.Parse(text, "http://127.0.0.1:9/").Service);
        Assert.Null(ImportedSession.Parse(text).Grant.PdsEndpoint);
    }

    [Fact]
    public void SessionData_json_is_read_with_its_did_document_endpoint_and_service()
    {
        var json = SessionExport.ToSessionData(new SessionGrant(Did, "alice.test", _tokens, "a@example.com", true, PdsEndpoint: "http://pds.example"), "http://entryway.example");
        var imported = ImportedSession.Parse(json);
        Assert.Equal("http://entryway.example", imported.Service);
        Assert.Equal("http://pds.example", imported.Grant.PdsEndpoint);
        Assert.Equal("a@example.com", imported.Grant.Email);
        Assert.True(imported.Grant.EmailConfirmed);
    }

    [Fact]
    public void Export_and_import_round_trip_in_both_formats()
    {
        var grant = new SessionGrant(Did, "alice.test", _tokens, PdsEndpoint: "http://pds.example");
        var fromPython = ImportedSession.Parse(SessionExport.ToSessionString(grant, "http://entryway.example"));
        var fromJson = ImportedSession.Parse(SessionExport.ToSessionData(grant, "http://entryway.example"));
        foreach (var imported in new[] { fromPython, fromJson })
        {
            Assert.Equal(grant.Did, imported.Grant.Did);
            Assert.Equal(grant.Tokens.RefreshJwt, imported.Grant.Tokens.RefreshJwt);
            Assert.Equal("http://pds.example", imported.Grant.PdsEndpoint);
        }
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("alice:::did:plc:x", "2 ':::'-separated fields")]
    [InlineData("alice:::not-a-did:::a.b.c:::d.e.f", "not a DID")]
    [InlineData("{\"did\":\"did:plc:x\"", "does not parse")]
    [InlineData("{\"did\":\"did:plc:x\",\"handle\":\"a\"}", "'accessJwt' is missing")]
    [InlineData("[1,2]", "1 ':::'-separated fields")]
    public void Malformed_input_gets_an_error_naming_what_is_wrong(string text, string expected)
    {
        var e = Assert.Throws<SessionFormatException>(() => ImportedSession.Parse(text));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_garbage_jwt_is_refused_without_quoting_it()
    {
        const string garbage = "eyJhbGciOi.garbage-token-SECRET.xyz";
        var text = $"alice.test:::{Did}:::{garbage}:::{_tokens.RefreshJwt}";
        var e = Assert.Throws<SessionFormatException>(() => ImportedSession.Parse(text));
        Assert.Contains("access token", e.Message);
        Assert.DoesNotContain("SECRET", e.Message);
        Assert.DoesNotContain(_tokens.RefreshJwt, e.Message);
    }

    [Fact]
    public void A_jwt_whose_claims_are_not_utf8_is_refused_as_malformed()
    {
        // {"alg":"HS256"} . {"exp":9999999999,"sub":"<0xC3 0x28: invalid UTF-8>"} . signature
        byte[] payload = [.. "{\"exp\":9999999999,\"sub\":\""u8.ToArray(), 0xC3, 0x28, .. "\"}"u8.ToArray()];
        var jwt = $"{JwtClaims.EncodeSegment("{\"alg\":\"HS256\"}")}.{JwtClaims.EncodeSegment(payload)}.c2lnbmF0dXJl";
        var e = Assert.Throws<SessionFormatException>(() => ImportedSession.Parse($"alice.test:::{Did}:::{jwt}:::{_tokens.RefreshJwt}"));
        Assert.Contains("access token", e.Message);
    }

    [Fact]
    public void Swapped_tokens_are_refused()
    {
        var text = $"alice.test:::{Did}:::{_tokens.RefreshJwt}:::{_tokens.AccessJwt}";
        var e = Assert.Throws<SessionFormatException>(() => ImportedSession.Parse(text));
        Assert.Contains("refresh token", e.Message);
    }

    [Fact]
    public void A_token_of_another_did_is_refused_in_the_session_string_and_in_session_json()
    {
        var other = TestJwt.Pair("did:plc:someoneelse000000000000", Now);
        var text = $"alice.test:::{Did}:::{other.AccessJwt}:::{other.RefreshJwt}";
        Assert.Equal("the access token belongs to another DID than the session string's",
            Assert.Throws<SessionFormatException>(() => ImportedSession.Parse(text)).Message);

        // The JSON form (SessionData, and every login or refresh answer): read by SessionGrant.
        var json = SessionExport.ToSessionData(new SessionGrant(Did, "alice.test", other), "http://entryway.example");
        Assert.Equal("the access token belongs to another DID than 'did'",
            Assert.Throws<SessionFormatException>(() => ImportedSession.Parse(json)).Message);
    }

    [Fact]
    public void The_pds_endpoint_is_read_from_the_atproto_pds_service_of_the_did_document()
    {
        using var doc = JsonDocument.Parse("""
            {"id":"did:plc:x","service":[
              {"id":"#other","type":"X","serviceEndpoint":"http://wrong"},
              {"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"http://localhost:2583/"}]}
            """);
        Assert.Equal("http://localhost:2583", DidDocument.PdsEndpoint(doc.RootElement));
    }

    [Fact]
    public void Token_claims_expose_scope_expiry_and_refresh_id()
    {
        var tokens = TestJwt.Pair(Did, Now, scope: "com.atproto.appPass");
        Assert.Equal("com.atproto.appPass", tokens.Scope);
        Assert.Equal(Now.ToUnixTimeSeconds() + 7200, tokens.AccessExpiresAt.ToUnixTimeSeconds());
        Assert.NotNull(tokens.Refresh.TokenId);
        Assert.DoesNotContain(tokens.AccessJwt, tokens.ToString());
    }
}
