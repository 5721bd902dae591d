using Akka.Actor;
using Akka.Persistence;
using static Supervisor.Actors.Keys.KeyEvents;

namespace Supervisor.Actors.Keys;

/// <summary>
/// Reads the journal of <see cref="AccountKeys"/> once (its persistence id, never writing to it), tells its parent what
/// it read (<see cref="KeysRead"/>) and stops; a journal that cannot be read stops it without an answer.
/// </summary>
public sealed class AccountKeysReader : ReceivePersistentActor
{
    /// <summary>The keys as journaled up to <paramref name="SequenceNr"/>.</summary>
    public sealed record KeysRead(AccountKeysState State, long SequenceNr);

    private AccountKeysState _state = AccountKeysState.Empty;

    /// <inheritdoc />
    public override string PersistenceId => AccountKeys.Id;

    /// <summary>Props for a reader.</summary>
    public static Props Props() => Akka.Actor.Props.Create(() => new AccountKeysReader());

    /// <summary>Reads, answers, stops.</summary>
    public AccountKeysReader()
    {
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is KeysSnapshot snapshot) _state = AccountKeysState.Of(snapshot);
        });
        Recover<IKeyEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            Context.Parent.Tell(new KeysRead(_state, LastSequenceNr));
            Context.Stop(Self);
        });
    }
}
