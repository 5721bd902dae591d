using System.Diagnostics;
using Akka.Actor;
using Supervisor.Actors.Protocol;

namespace Supervisor.Actors.Cluster;

/// <summary>
/// Asks the accounts for an answer the way a request must in a cluster, where a message can reach a node just as the
/// account's shard leaves it: answered <see cref="AccountReplies.AccountMoved"/> (by the node it reached), the message
/// is sent again at once and finds the account's new home; with <c>firstTry</c>, one not answered by then is sent again.
/// Both within <c>timeout</c> in all. The registry's and the login budgets' buckets move the same way, and are asked the same way.
/// </summary>
public static class AccountAsk
{
    /// <summary>
    /// The account's answer to <paramref name="message"/>, or <see cref="AskTimeoutException"/> after <paramref name="timeout"/>
    /// (<see cref="TaskCanceledException"/> once <paramref name="cancel"/> is cancelled).
    /// </summary>
    public static async Task<object> AskAccountAsync(this IActorRef accounts, object message, TimeSpan timeout, TimeSpan? firstTry = null,
        CancellationToken cancel = default)
    {
        var started = Stopwatch.GetTimestamp();
        TimeSpan Left() => timeout - Stopwatch.GetElapsedTime(started);
        while (true)
        {
            object reply;
            var first = firstTry is { } limit && limit < Left() ? limit : Left();
            try
            {
                reply = await accounts.Ask<object>(message, first, cancel);
            }
            catch (AskTimeoutException) when (Left() > TimeSpan.FromSeconds(1))
            {
                reply = await accounts.Ask<object>(message, Left(), cancel);
            }
            if (reply is not AccountReplies.AccountMoved || Left() < TimeSpan.FromSeconds(1)) return reply;
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancel);
        }
    }

    /// <summary>
    /// The answer of a sharded bucket (of the registry or the login budgets) to <paramref name="message"/> (in its
    /// envelope), asked again while it moves; <see cref="AskTimeoutException"/> when it still moves after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<T> AskBucketAsync<T>(this IActorRef region, object message, TimeSpan timeout) =>
        await region.AskAccountAsync(message, timeout).ConfigureAwait(false) switch
        {
            AccountReplies.AccountMoved => throw new AskTimeoutException($"the bucket was still moving after {timeout.TotalSeconds:0.#} s"),
            T answer => answer,
            var other => throw new InvalidCastException($"a bucket answered {other.GetType().Name}, not {typeof(T).Name}"),
        };
}
