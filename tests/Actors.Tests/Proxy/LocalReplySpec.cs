using Akka.Actor;
using Supervisor.Actors.Cluster;
using Supervisor.Host.Proxy;
using Xunit.Abstractions;

namespace Supervisor.Actors.Tests.Proxy;

/// <summary>The reply address of a request's borrow from a lender on this node (in place of Akka's Ask).</summary>
public sealed class LocalReplySpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    /// <summary>Answers every question with its text reversed, and hands the address it answered to the test.</summary>
    private sealed class Answerer : ReceiveActor
    {
        public Answerer(IActorRef test) => Receive<string>(question =>
        {
            Sender.Tell(new string(question.Reverse().ToArray()));
            test.Tell(Sender);
        });
    }

    private IInternalActorRef Start(Props props) => (IInternalActorRef)Sys.ActorOf(props);

    [Fact]
    public async Task The_answer_of_the_actor_asked_completes_the_wait()
    {
        var answerer = Start(Props.Create(() => new Answerer(TestActor)));

        Assert.Equal("olleh", await LocalReply.Ask(answerer, "hello").Answer.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal("dlrow", await LocalReply.Ask(answerer, "world").Answer.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task An_answer_that_comes_after_the_asker_stopped_waiting_goes_to_its_late_handler()
    {
        var slow = Start(Props.Create(() => new SlowActor(TimeSpan.FromMilliseconds(600))));
        var asked = LocalReply.Ask(slow, "hello");
        await Assert.ThrowsAsync<TimeoutException>(() => asked.Answer.WaitAsync(TimeSpan.FromMilliseconds(100)));
        var late = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);

        asked.WhenLate(answer => late.TrySetResult(answer));

        Assert.Equal("hello, at last", await late.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task An_actor_that_never_answers_leaves_the_late_handler_uncalled()
    {
        var silent = Start(Props.Create(() => new SilentActor()));
        var asked = LocalReply.Ask(silent, "hello");
        var called = false;

        asked.WhenLate(_ => called = true);
        await Task.Delay(300);

        Assert.False(called);
        Assert.False(asked.Answer.IsCompleted);
    }

    [Fact]
    public async Task The_address_answered_is_of_this_node_and_the_first_answer_is_kept()
    {
        var answerer = Start(Props.Create(() => new Answerer(TestActor)));

        await LocalReply.Ask(answerer, "hello").Answer.WaitAsync(TimeSpan.FromSeconds(5));
        var reply = ExpectMsg<IActorRef>();

        // Inside for the accounts' check of who may have a token; a second answer changes nothing.
        Assert.False(ClusterOutsiders.IsOutside(reply, Sys));
        Assert.True(reply.Path.Address.HasLocalScope);
        reply.Tell("late");
        Assert.Equal("olleh", await ((LocalReply)reply).Answer);
    }

    /// <summary>Answers each question after a while, by a message to itself (its mailbox stays free meanwhile).</summary>
    private sealed class SlowActor : ReceiveActor, IWithTimers
    {
        private sealed record Due(string Question, IActorRef Asker);

        public ITimerScheduler Timers { get; set; } = null!;

        public SlowActor(TimeSpan after)
        {
            Receive<string>(question => Timers.StartSingleTimer(question, new Due(question, Sender), after));
            Receive<Due>(due => due.Asker.Tell(due.Question + ", at last"));
        }
    }

    private sealed class SilentActor : ReceiveActor
    {
        public SilentActor() => ReceiveAny(_ => { });
    }
}
