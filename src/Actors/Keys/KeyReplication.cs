using Supervisor.Actors.Serialization;

namespace Supervisor.Actors.Keys;

/// <summary>
/// How the account keys reach every node: each node's <see cref="AccountKeysReplica"/> registers with
/// <see cref="AccountKeys"/> (through its singleton proxy, again every few seconds, so that an owner that moved hears of
/// it); the owner tells every registered replica each event it journaled, with its sequence number, and every few
/// seconds the number it has reached; a replica applies them in order, reads the journal again when one is missing, and
/// tells the owner how far it holds them (<see cref="KeysHeld"/>), which answers a change once every replica holds it.
/// </summary>
public static class KeyReplication
{
    /// <summary>A replica that wants the events; answered at once with <see cref="KeysJournaledUpTo"/>, then sent every event.</summary>
    public sealed record RegisterReplica(Akka.Actor.IActorRef Replica) : IWireMessage;

    /// <summary>The event journaled as <paramref name="SequenceNr"/>.</summary>
    public sealed record KeyEventJournaled(long SequenceNr, IKeyEvent Event) : IWireMessage;

    /// <summary>Every event up to <paramref name="SequenceNr"/> is journaled (told every few seconds, also when nothing changes).</summary>
    public sealed record KeysJournaledUpTo(long SequenceNr) : IWireMessage;

    /// <summary>The replica <paramref name="Replica"/> holds every event up to <paramref name="SequenceNr"/>.</summary>
    public sealed record KeysHeld(Akka.Actor.IActorRef Replica, long SequenceNr) : IWireMessage;
}
