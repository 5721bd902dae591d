using Akka.Actor;
using Akka.Persistence;
using Supervisor.Actors.Serialization;

namespace Supervisor.Actors.Accounts;

/// <summary>
/// At start, reads one account's journal (and writes nothing): resting accounts are not read at start, so a token key
/// that cannot read the journal would otherwise go unnoticed until the first account wakes. A record it cannot decrypt
/// is told to the parent as <see cref="TokenKeyRejected"/>; the host then stops before serving anything.
/// </summary>
public sealed class TokenKeyProbe : ReceivePersistentActor
{
    private readonly string _did;

    /// <summary>Props for the probe of the account <paramref name="did"/>.</summary>
    public static Props Props(string did) => Akka.Actor.Props.Create(() => new TokenKeyProbe(did));

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <summary>Creates the probe.</summary>
    public TokenKeyProbe(string did)
    {
        _did = did;
        PersistenceId = Account.AccountSessionActor.PersistenceIdFor(did);
        Recover<RecoveryCompleted>(_ => Context.Stop(Self));
        RecoverAny(_ => { });
        CommandAny(_ => { });
    }

    /// <inheritdoc />
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        if (reason.GetBaseException() is TokenKeyException wrongKey) Context.Parent.Tell(new TokenKeyRejected(_did, wrongKey.Message));
        base.OnRecoveryFailure(reason, message);
    }
}
