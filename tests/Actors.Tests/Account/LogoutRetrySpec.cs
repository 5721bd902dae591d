using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>
/// A logout whose deleteSession keeps failing stays pending and is retried with growing delays until it succeeds; one
/// asked while another is pending is answered at once. (Calls wait up to 15 s here: a held one outlasts the test's steps.)
/// </summary>
public sealed class LogoutRetrySpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output, "supervisor.accounts.request-timeout = 15s")
{
    private const string DeleteSession = "com.atproto.server.deleteSession";

    [Fact]
    public async Task A_failing_delete_session_is_retried_with_growing_delays()
    {
        var alice = await LoggedInAsync();
        var events = CreateTestProbe();
        await AskAsync(new SubscribeSessionEvents(events.Ref, alice.Did));
        Pds.FailNext(DeleteSession, FakeFailure.ServerError500, times: 5);

        var pending = Assert.IsType<LogoutPending>(await AskAsync(new Logout(alice.Did)));
        Assert.Equal("InternalServerError", pending.Error.Error);
        var failures = new List<SessionEvent>();
        while (failures.Count < 5)
        {
            var next = events.FishForMessage<SessionEvent>(e => e.Kind is SessionEventKind.DeleteFailure or SessionEventKind.Deleted, TimeSpan.FromSeconds(15));
            Assert.Equal(SessionEventKind.DeleteFailure, next.Kind);
            failures.Add(next);
        }
        Assert.Equal(SessionEventKind.Deleted, events.FishForMessage<SessionEvent>(e => e.Kind == SessionEventKind.Deleted, TimeSpan.FromSeconds(15)).Kind);
        Assert.Equal(6, Pds.CallCount(DeleteSession));
        Assert.Equal(AccountStateName.LoggedOut, (await StatusAsync(alice.Did)).State);

        // backoff-min 200 ms doubled each time (jitter at most -25 %): each wait at least 150, 300, 600 and 1200 ms.
        // A timer never fires early, so these lower bounds hold however slow the machine is.
        for (var i = 1; i < failures.Count; i++)
        {
            var waited = failures[i].At - failures[i - 1].At;
            var least = TimeSpan.FromMilliseconds(150 * Math.Pow(2, i - 1));
            Assert.True(waited >= least, $"retry {i} came after {waited.TotalMilliseconds} ms, before its backoff of at least {least.TotalMilliseconds} ms");
        }
    }

    [Fact]
    public async Task A_logout_of_a_new_session_while_an_earlier_logouts_deleteSession_is_pending_revokes_both_and_is_answered()
    {
        var account = await LoggedInAsync();
        var first = ExportedRefreshJwt(await AskAsync(new ExportSession(account.Did, SessionFormat.Python)));
        Pds.FailNext(DeleteSession, FakeFailure.HeldUntilReleased); // the first deleteSession waits for the test
        Accounts.Tell(new Logout(account.Did), TestActor);
        await EventuallyAsync(() => Task.FromResult(Pds.CallCount(DeleteSession) == 1), TimeSpan.FromSeconds(10), "the first deleteSession sent");

        await LoginAsync(Pds.Url, account.Handle, account.Password);
        var second = ExportedRefreshJwt(await AskAsync(new ExportSession(account.Did, SessionFormat.Python)));
        var answered = Assert.IsType<LogoutPending>(await AskAsync(new Logout(account.Did))); // while the first is held
        Assert.Equal("LogoutInProgress", answered.Error.Error);
        Assert.Equal(1, Pds.CallCount(DeleteSession));

        Pds.ReleaseHeldAnswers();
        await EventuallyAsync(() => Task.FromResult(!Pds.IsRefreshTokenLive(first) && !Pds.IsRefreshTokenLive(second)), TimeSpan.FromSeconds(20),
            "both sessions revoked");
        await EventuallyAsync(async () => (await StatusAsync(account.Did)).State == AccountStateName.LoggedOut, TimeSpan.FromSeconds(10), "logged out");
    }

    private static string ExportedRefreshJwt(object reply) =>
        Supervisor.Actors.Session.ImportedSession.Parse(Assert.IsType<SessionExported>(reply).Session).Grant.Tokens.RefreshJwt;
}
