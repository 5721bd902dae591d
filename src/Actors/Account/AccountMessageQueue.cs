using Akka.Actor;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;

namespace Supervisor.Actors.Account;

/// <summary>
/// An account's mailbox queue: unbounded, with the deque semantics a persistent actor's stash needs, and small when
/// empty. Akka's default (a <c>ConcurrentQueue</c> segment of 32 slots) costs about 1 KB an actor even when idle; at
/// 100,000 accounts that is 100 MB for queues that are almost always empty. This one is a <see cref="Queue{T}"/>
/// under a lock (senders are few per account, and a lock without contention costs nanoseconds), with its array given
/// back once a burst has drained, and the stash's prepend buffer made only when used.
/// </summary>
public sealed class AccountMessageQueue : IMessageQueue, IUnboundedDequeBasedMessageQueueSemantics
{
    /// <summary>Past this many queued messages, the queue's array is given back once it is empty again.</summary>
    private const int KeptCapacity = 8;

    private readonly Queue<Envelope> _queue = new(0);
    private Stack<Envelope>? _prepended;
    private int _count;
    private bool _grown;

    /// <inheritdoc />
    public bool HasMessages => Volatile.Read(ref _count) > 0;

    /// <inheritdoc />
    public int Count => Volatile.Read(ref _count);

    /// <inheritdoc />
    public void Enqueue(IActorRef receiver, Envelope envelope)
    {
        lock (_queue)
        {
            _queue.Enqueue(envelope);
            if (_queue.Count > KeptCapacity) _grown = true;
            _count++;
        }
    }

    /// <inheritdoc />
    public void EnqueueFirst(Envelope envelope)
    {
        lock (_queue)
        {
            (_prepended ??= new Stack<Envelope>()).Push(envelope);
            _count++;
        }
    }

    /// <inheritdoc />
    public bool TryDequeue(out Envelope envelope)
    {
        lock (_queue)
        {
            if (_prepended is { } prepended)
            {
                envelope = prepended.Pop();
                if (prepended.Count == 0) _prepended = null;
                _count--;
                return true;
            }
            if (!_queue.TryDequeue(out envelope)) return false;
            _count--;
            if (_queue.Count == 0 && _grown)
            {
                _queue.TrimExcess();
                _grown = false;
            }
            return true;
        }
    }

    /// <inheritdoc />
    public void CleanUp(IActorRef owner, IMessageQueue deadletters)
    {
        while (TryDequeue(out var envelope)) deadletters.Enqueue(owner, envelope);
    }
}
