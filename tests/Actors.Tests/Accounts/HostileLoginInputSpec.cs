using System.Text;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Accounts;

/// <summary>
/// A login with odd input, from the caller or from the server, is answered and leaves the accounts supervisor as it
/// was: it neither waits out the caller's timeout nor restarts (which would take the session events' hub with it).
/// </summary>
public sealed class HostileLoginInputSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    [Fact]
    public async Task An_email_identifier_with_leading_blanks_logs_in_and_is_logged_masked()
    {
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var status = await LoginAsync(Pds.Url, new string(' ', 20) + alice.Email, "pw-alice");
        Assert.Equal(alice.Did, status.Did);
        Assert.Equal("a***@" + alice.Email.Split('@')[1], AccountsSupervisor.LoggedIdentifier("\t " + alice.Email + " "));
    }

    [Fact]
    public async Task A_session_answer_holding_a_string_that_is_not_utf8_is_refused_at_once()
    {
        var bob = Pds.CreateAccount("bob.test", "pw-bob");
        var tokens = Encoding.UTF8.GetString(await ValidAnswerAsync(bob));
        // The same session, its handle's bytes broken (0xff is never UTF-8): JSON's structure holds, the string cannot be read.
        var bytes = Encoding.UTF8.GetBytes(tokens.Replace("\"bob.test\"", "\"bob.tes!\"", StringComparison.Ordinal));
        bytes[Array.IndexOf(bytes, (byte)'!')] = 0xff;
        Pds.AnswerWith("com.atproto.server.createSession", bytes, "application/json");

        var refused = Assert.IsType<SessionRejected>(await AskAsync(new Login(Pds.Url, bob.Handle, "pw-bob")));
        Assert.Equal((SessionRejection.ServiceUnavailable, XrpcError.InvalidResponse), (refused.Reason, refused.Error.Error));
        Assert.Contains("not valid UTF-8", refused.Error.Message);
    }

    /// <summary>A field longer than any session field is refused before it is logged, budgeted or sent to the server.</summary>
    [Fact]
    public async Task A_login_or_account_creation_with_a_field_past_2048_characters_is_refused_without_a_call()
    {
        var alice = Pds.CreateAccount("alice.test", "pw-alice");
        var huge = new string('a', 100_000);
        object[] requests =
        [
            new Login(Pds.Url, huge, alice.Password),
            new Login(Pds.Url, alice.Handle, huge),
            new Login(Pds.Url, alice.Handle, alice.Password, huge),
            new CreateAccount(Pds.Url, huge + ".test", "x@example.com", "pw-long"),
            new CreateAccount(Pds.Url, "bob.test", huge + "@example.com", "pw-long"),
            new CreateAccount(Pds.Url, "bob.test", "bob@example.com", "pw-long", huge),
        ];
        foreach (var request in requests)
        {
            var refused = Assert.IsType<SessionRejected>(await AskAsync(request));
            Assert.Equal((SessionRejection.InvalidRequest, "InvalidRequest"), (refused.Reason, refused.Error.Error));
            Assert.EndsWith("is longer than 2048 characters", refused.Error.Message);
            Assert.DoesNotContain(huge, refused.Error.Message);
        }
        Assert.Equal(0, Pds.CallCount("com.atproto.server.createSession") + Pds.CallCount("com.atproto.server.createAccount"));
        Assert.IsType<SessionStarted>(await AskAsync(new Login(Pds.Url, alice.Handle, alice.Password)));
    }

    /// <summary>A createSession answer of the fake PDS for <paramref name="account"/>, as bytes.</summary>
    private async Task<byte[]> ValidAnswerAsync(FakePds.FakeAccount account)
    {
        using var http = new HttpClient();
        using var answer = await http.PostAsync(Pds.Url + "/xrpc/com.atproto.server.createSession",
            new StringContent($$"""{"identifier":"{{account.Handle}}","password":"{{account.Password}}"}""", Encoding.UTF8, "application/json"));
        answer.EnsureSuccessStatusCode();
        return await answer.Content.ReadAsByteArrayAsync();
    }
}
