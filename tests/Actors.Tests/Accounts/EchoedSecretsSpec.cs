using System.Text;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Session;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Accounts;

/// <summary>
/// A server that writes back what it was sent (a password, a sign-in code, a token) into its error: the supervisor cuts
/// those from the error before it is logged, answered, held in a status or published, whole or cut at the message's length.
/// </summary>
public sealed class EchoedSecretsSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    private static byte[] ErrorBody(string error, string message) =>
        Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new { error, message }));

    [Fact]
    public async Task A_login_error_that_echoes_the_password_and_the_code_has_both_cut()
    {
        var carol = Pds.CreateAccount("carol.test", "pw-carol-echoed");
        Pds.AnswerWith("com.atproto.server.createSession",
            ErrorBody("AuthenticationRequired", "Invalid identifier or password: carol.test / pw-carol-echoed (code 7Q2K-M4XZ)"), "application/json", status: 401);

        var refused = Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, carol.Handle, carol.Password, "7Q2K-M4XZ")));
        Assert.Equal("AuthenticationRequired", refused.Error.Error);
        Assert.Equal("Invalid identifier or password: carol.test / [redacted] (code [redacted])", refused.Error.Message);
    }

    [Fact]
    public async Task A_login_error_that_echoes_a_password_with_a_control_character_has_it_cut_as_the_error_shows_it()
    {
        var password = TestSecrets.Password("pw-carol\techoed");
        Pds.AnswerWith("com.atproto.server.createSession",
            ErrorBody("AuthenticationRequired", $"Invalid identifier or password: carol.test / {password}"), "application/json", status: 401);

        var refused = Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, "carol.test", password)));
        // (Compared without xUnit quoting it: the message holds the password, its tab a space, should the cut fail.)
        Assert.True(refused.Error.Message == "Invalid identifier or password: carol.test / [redacted]", "the password cut from the message");
    }

    [Theory]
    [InlineData("quotes")]
    [InlineData("a backslash")]
    [InlineData("letters beyond ASCII")]
    public async Task A_login_error_that_quotes_the_request_as_json_has_the_password_cut_as_json_writes_it(string holding)
    {
        // (The password is not the test's argument: test names are written out.)
        var password = TestSecrets.Password(holding switch
        {
            "quotes" => "pw-carol-\"quoted\"-echoed",
            "a backslash" => "pw-carol-back\\slash",
            _ => "pw-carol-été-echoed",
        });
        // A server quoting the body it was sent (JSON.stringify in JavaScript, escaping quotes and backslashes) and one
        // escaping everything but ASCII as well (.NET's default).
        foreach (var quoted in new[] { System.Text.Json.JsonSerializer.Serialize(password, new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }), System.Text.Json.JsonSerializer.Serialize(password) })
        {
            Pds.AnswerWith("com.atproto.server.createSession",
                ErrorBody("AuthenticationRequired", $"Invalid request body: {{\"identifier\":\"carol.test\",\"password\":{quoted}}}"), "application/json", status: 401);
            var refused = Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, "carol.test", password)));
            // (Compared without xUnit quoting it: the message holds the password should the cut fail.)
            Assert.True(refused.Error.Message == "Invalid request body: {\"identifier\":\"carol.test\",\"password\":\"[redacted]\"}", "the password cut from the message");
        }
    }

    [Fact]
    public async Task An_account_creation_error_that_echoes_the_password_and_the_invite_code_has_both_cut()
    {
        var password = TestSecrets.Password("pw-erin-echoed");
        Pds.AnswerWith("com.atproto.server.createAccount",
            ErrorBody("InvalidInviteCode", $"Invite code invite-7q2k-m4xz is not valid for erin.test (password {password})"), "application/json", status: 400);

        var refused = Assert.IsType<SessionRejected>(await AskAsync(new CreateAccount(Pds.Url, "erin.test", "erin@example.com", password, "invite-7q2k-m4xz")));
        Assert.Equal("InvalidInviteCode", refused.Error.Error);
        // (Compared without xUnit quoting it: the message holds the password should the cut fail.)
        Assert.True(refused.Error.Message == "Invite code [redacted] is not valid for erin.test (password [redacted])", "the password and the invite code cut from the message");
    }

    [Fact]
    public async Task A_refresh_error_that_echoes_the_refresh_token_has_it_cut()
    {
        var dan = await LoggedInAsync("dan.test");
        var exported = Assert.IsType<SessionExported>(await AskAsync(new ExportSession(dan.Did, SessionFormat.Python)));
        var refreshJwt = ImportedSession.Parse(exported.Session).Grant.Tokens.RefreshJwt;

        var events = CreateTestProbe();
        await AskAsync(new SubscribeSessionEvents(events.Ref, dan.Did));
        Pds.AnswerWith("com.atproto.server.refreshSession", ErrorBody("InvalidToken", $"Token {refreshJwt} could not be verified"), "application/json", status: 400);
        var status = Assert.IsType<RefreshCompleted>(await AskAsync(new RefreshNow(dan.Did))).Status;
        // (Compared without xUnit quoting them: the messages hold the token should the cut fail.)
        Assert.True(status.LastError?.Message == "Token [redacted] could not be verified", "the token cut from the status's error");
        // Published as cut: the event that ends the session carries the error as the status holds it.
        var ended = events.FishForMessage<Supervisor.Actors.Events.SessionEvent>(e => e.Error is not null, TimeSpan.FromSeconds(5));
        Assert.True(ended.Error!.Message == "Token [redacted] could not be verified", "the token cut from the event's error");
    }

    [Fact]
    public void A_message_cut_at_its_length_inside_an_echoed_token_has_the_tokens_head_cut()
    {
        var token = TestJwt.Pair("did:plc:abcdefghijklmnopqrstuvwx", DateTimeOffset.UtcNow).RefreshJwt;
        var padding = new string('.', XrpcError.LongestMessage - 40);
        var answer = XrpcResponse.From(400, ErrorBody("InvalidToken", padding + token), "application/json", null);
        Assert.EndsWith(token[..40] + "…", answer.Error!.Message); // what a server's message keeps: its first 1,024 characters

        var cut = answer.WithoutSecrets(null, "abc", token);
        Assert.Equal(padding + "[redacted]…", cut.Error!.Message);
        Assert.Equal(cut.Error, XrpcResponse.TryReadError(cut.Body)); // the body says no more than the error
        Assert.Same(answer, answer.WithoutSecrets("not-in-it")); // an answer without a secret is passed as it is

        // Past the part of the message kept, in another field, or in a body that is not JSON: the body goes, the error stays.
        foreach (var body in new[]
                 {
                     ErrorBody("InvalidToken", new string('.', 2 * XrpcError.LongestMessage) + token),
                     Encoding.UTF8.GetBytes($$$"""{"error":"InvalidToken","message":"bad token","debug":{"authorization":"Bearer {{{token}}}"}}"""),
                     Encoding.UTF8.GetBytes($"<html>bad token {token}</html>"),
                 })
        {
            var echoed = XrpcResponse.From(400, body, "application/json", null).WithoutSecrets(token);
            Assert.DoesNotContain(token[..16], Encoding.UTF8.GetString(echoed.Body));
            Assert.DoesNotContain(token[..16], echoed.Error!.Message);
            Assert.Equal(echoed.Error, XrpcResponse.TryReadError(echoed.Body));
        }
    }
}
