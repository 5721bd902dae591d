using Supervisor.Actors.Account;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Accounts;

/// <summary>
/// What a login or an account creation names is bounded: a field longer than any session field is refused before it is
/// logged, counted against a budget of its own or sent to the server (by HTTP up to a megabyte, by message up to six).
/// </summary>
public sealed class LoginInputSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
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
}
