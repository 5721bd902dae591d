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

        Assert.Equal("olleh", await LocalReply.AskAsync(answerer, "hello", TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Equal("dlrow", await LocalReply.AskAsync(answerer, "world", TimeSpan.FromSeconds(5), CancellationToken.None));
    }

    [Fact]
    public async Task An_actor_that_never_answers_ends_the_wait_at_its_timeout()
    {
        var silent = Start(Props.Create(() => new SilentActor()));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await Assert.ThrowsAsync<TimeoutException>(() => LocalReply.AskAsync(silent, "hello", TimeSpan.FromMilliseconds(300), CancellationToken.None));

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Cancelling_ends_the_wait_at_once()
    {
        var silent = Start(Props.Create(() => new SilentActor()));
        using var end = new CancellationTokenSource();

        var waiting = LocalReply.AskAsync(silent, "hello", TimeSpan.FromMinutes(1), end.Token);
        end.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task The_address_answered_is_of_this_node_and_the_first_answer_is_kept()
    {
        var answerer = Start(Props.Create(() => new Answerer(TestActor)));

        await LocalReply.AskAsync(answerer, "hello", TimeSpan.FromSeconds(5), CancellationToken.None);
        var reply = ExpectMsg<IActorRef>();

        // Inside for the accounts' check of who may have a token; a second answer changes nothing.
        Assert.False(ClusterOutsiders.IsOutside(reply, Sys));
        Assert.True(reply.Path.Address.HasLocalScope);
        reply.Tell("late");
        Assert.Equal("olleh", await ((LocalReply)reply).Answer);
    }

    private sealed class SilentActor : ReceiveActor
    {
        public SilentActor() => ReceiveAny(_ => { });
    }
}
