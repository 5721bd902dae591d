using Akka.Actor;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Events;
using Supervisor.Actors.Tests.Support;
using Xunit.Abstractions;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Actors.Tests.Accounts;

/// <summary>
/// A handler of the accounts supervisor that fails (here: its clock throws) answers its caller with a failure at once,
/// and the supervisor goes on as it was: no restart, so its session events' hub keeps every subscriber.
/// </summary>
public sealed class FailingHandlerSpec(ITestOutputHelper output) : FakePdsSpec(new TestJournal(), output)
{
    protected override bool DefersSupervisor => true;

    /// <summary>The system clock, which throws while <see cref="Failing"/> is set.</summary>
    private sealed class FailingClock : TimeProvider
    {
        public volatile bool Failing;

        public override DateTimeOffset GetUtcNow() => Failing ? throw new InvalidOperationException("the clock failed") : base.GetUtcNow();
    }

    [Fact]
    public async Task A_failing_handler_answers_its_caller_and_the_supervisor_keeps_its_subscribers()
    {
        var clock = new FailingClock();
        Accounts = Sys.ActorOf(AccountsSupervisor.Props(Client, Settings, time: clock, journal: JournalHealth, limits: Limits), AccountsSupervisor.Name);
        var events = CreateTestProbe();
        await Accounts.Ask<SubscribeSessionEvents>(new SubscribeSessionEvents(events.Ref), AskTimeout);
        var bob = await LoggedInAsync("bob.test");
        events.FishForMessage<SessionEvent>(e => e.Did == bob.Did, TimeSpan.FromSeconds(10));

        var alice = Pds.CreateAccount("alice.test", "pw-alice-net");
        clock.Failing = true;
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => Accounts.Ask<object>(new Login(Pds.Url, alice.Handle, alice.Password), TimeSpan.FromSeconds(5)));
        clock.Failing = false;
        Assert.Contains("could not handle Login", failed.Message);

        Assert.Equal(alice.Did, (await LoginAsync(Pds.Url, alice.Handle, alice.Password)).Did);
        events.FishForMessage<SessionEvent>(e => e.Did == alice.Did, TimeSpan.FromSeconds(10));
    }
}
