using Akka.Actor;

namespace Supervisor.Host.Proxy;

/// <summary>
/// The reply address of one question to an actor of this node: its first answer completes <see cref="Answer"/>. Unlike
/// Akka's Ask it registers no temporary actor and makes no timer, registrations and continuation of its own (the asker
/// bounds the wait, with <see cref="Task.WaitAsync(TimeSpan, CancellationToken)"/>), which the token loan of every
/// request passed through would otherwise pay; and an answer that comes after the asker stopped waiting is not lost
/// (<see cref="WhenLate"/>). Only for actors of this node that answer their sender by reference: it cannot be resolved
/// by its path, nor sent to another node.
/// </summary>
public sealed class LocalReply : MinimalActorRef
{
    /// <summary>The path all of them show (under the node's dead letters), with the provider it was made for.</summary>
    private sealed record SharedPath(IActorRefProvider Provider, ActorPath Path);

    private static SharedPath? _shared;

    private readonly TaskCompletionSource<object> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LocalReply(IActorRefProvider provider, ActorPath path)
    {
        Provider = provider;
        Path = path;
    }

    /// <summary>The first message sent here.</summary>
    public Task<object> Answer => _answer.Task;

    /// <inheritdoc />
    public override ActorPath Path { get; }

    /// <inheritdoc />
    public override IActorRefProvider Provider { get; }

    /// <inheritdoc />
    protected override void TellInternal(object message, IActorRef sender) => _answer.TrySetResult(message);

    /// <summary>Sends <paramref name="question"/> to <paramref name="actor"/> (of this node); its answer comes to the reply returned.</summary>
    public static LocalReply Ask(IInternalActorRef actor, object question)
    {
        var provider = actor.Provider;
        if (_shared is not { } shared || !ReferenceEquals(shared.Provider, provider)) _shared = shared = new SharedPath(provider, provider.DeadLetters.Path / "local-reply");
        var reply = new LocalReply(provider, shared.Path);
        actor.Tell(question, reply);
        return reply;
    }

    /// <summary>For an asker that stopped waiting: the answer, should it still come, goes to <paramref name="late"/>.</summary>
    public void WhenLate(Action<object> late) =>
        _answer.Task.ContinueWith(static (answered, late) => ((Action<object>)late!)(answered.Result), late, CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
