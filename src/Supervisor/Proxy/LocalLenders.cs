using System.Collections.Concurrent;
using Akka.Actor;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Host.Proxy;

/// <summary>
/// The accounts running on this node that lent a token for a request lately, by DID, so that the next borrow for the
/// same DID goes to the account itself: three mailboxes fewer on every request (the accounts supervisor, the shard
/// region, the shard). Only DIDs are kept (a DID names one account for good; a handle can move to another) and only
/// accounts of this node (a remote one can vanish with its node without a word). An account that stopped or moved since
/// (rested, handed over) is answered for from this node's dead letters (<c>AccountMoved</c>, by LeftBehindRequests): the
/// borrow then goes the long way and learns the new lender.
/// </summary>
public sealed class LocalLenders
{
    /// <summary>
    /// The most DIDs kept; past it the map starts over (accounts beyond it borrow the long way now and then). Small: an
    /// account that rests stays here, its stopped actor's reference with it, until the map starts over.
    /// </summary>
    public const int Capacity = 2_000;

    private readonly ConcurrentDictionary<string, IInternalActorRef> _byDid = new(StringComparer.Ordinal);
    private int _count;

    /// <summary>The account of this node that lent for <paramref name="accountId"/> last, or null.</summary>
    public IInternalActorRef? For(string accountId) => _byDid.TryGetValue(accountId, out var lender) ? lender : null;

    /// <summary>Keeps the lender of <paramref name="loan"/> when it runs on this node and <paramref name="accountId"/> is its DID.</summary>
    public void Lent(string accountId, AccessTokenLent loan)
    {
        if (loan.Lender is not IInternalActorRef { Path.Address.HasLocalScope: true } lender || !string.Equals(loan.Did, accountId, StringComparison.Ordinal)) return;
        if (_byDid.TryGetValue(accountId, out var known) && known.Equals(lender)) return;
        if (!_byDid.TryAdd(accountId, lender))
        {
            _byDid[accountId] = lender;
            return;
        }
        if (Interlocked.Increment(ref _count) <= Capacity) return;
        _byDid.Clear();
        Interlocked.Exchange(ref _count, 0);
    }

    /// <summary>Forgets the lender of <paramref name="accountId"/> (it stopped or moved).</summary>
    public void Forget(string accountId)
    {
        if (_byDid.TryRemove(accountId, out _)) Interlocked.Decrement(ref _count);
    }
}
