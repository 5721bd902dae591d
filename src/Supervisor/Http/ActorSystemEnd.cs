using Akka.Actor;

namespace Supervisor.Host.Http;

/// <summary>
/// The end of the host's actor system, as a token the HTTP layer's asks wait on besides their timeout: when the actor
/// system is gone (the cluster downed the node, a token key cannot read the journal, or at the end of a shutdown), a
/// request still waiting on an actor is answered at once (503 <c>ShuttingDown</c>, by the exception handler) instead of
/// waiting out its ask on an actor that will never answer, and the host stops without waiting for it.
/// </summary>
public sealed class ActorSystemEnd
{
    private readonly CancellationTokenSource _ended = new();

    /// <summary>Cancelled once the actor system has terminated.</summary>
    public CancellationToken Token => _ended.Token;

    /// <summary>Whether the actor system has terminated.</summary>
    public bool HasEnded => _ended.IsCancellationRequested;

    /// <summary>Watches <paramref name="system"/>: its termination cancels <see cref="Token"/>.</summary>
    public void Watch(ActorSystem system) => system.WhenTerminated.ContinueWith(_ => _ended.Cancel(), TaskScheduler.Default);
}
