using Supervisor.Actors.Events;
using Supervisor.Actors.Protocol;
using Supervisor.Actors.Tests.FakePds;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Account;

/// <summary>A logout whose deleteSession keeps failing stays pending and is retried with growing delays until it succeeds.</summary>
public sealed class LogoutRetrySpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
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
}
