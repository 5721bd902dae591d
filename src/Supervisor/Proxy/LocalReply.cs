using Akka.Actor;

namespace Supervisor.Host.Proxy;

/// <summary>
/// The reply address of one question to an actor of this node: its first answer completes <see cref="Answer"/>. Unlike
/// Akka's Ask it registers no temporary actor and makes no timer, registrations and continuation of its own (the wait
/// is bounded by <see cref="Task.WaitAsync(TimeSpan, CancellationToken)"/>), which the token loan of every request
/// passed through would otherwise pay. Only for actors of this node that answer their sender by reference: it cannot be
/// resolved by its path, nor sent to another node.
/// </summary>
public sealed class LocalReply : MinimalActorRef
{
    /// <summary>The path all of them show (under the node's dead letters), with the provider it was made for.</summary>
    private static (IActorRefProvider Provider, ActorPath Path)? _shared;

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

    /// <summary>
    /// Sends <paramref name="question"/> to <paramref name="actor"/> (of this node); its answer, <see cref="TimeoutException"/>
    /// after <paramref name="timeout"/>, or cancelled with <paramref name="cancel"/>.
    /// </summary>
    public static Task<object> AskAsync(IInternalActorRef actor, object question, TimeSpan timeout, CancellationToken cancel)
    {
        var provider = actor.Provider;
        if (_shared is not { } shared || !ReferenceEquals(shared.Provider, provider)) _shared = shared = (provider, provider.DeadLetters.Path / "local-reply");
        var reply = new LocalReply(provider, shared.Path);
        actor.Tell(question, reply);
        return reply.Answer.WaitAsync(timeout, cancel);
    }
}
