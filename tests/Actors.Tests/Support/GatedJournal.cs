using Akka.Persistence.Sql.Journal;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// The SQL journal of the supervisor with a <see cref="RecoveryGate"/> in front of every recovery: reading an
/// id's highest sequence number (the first step of a replay) waits until the gate lets that id through.
/// </summary>
public sealed class GatedJournal(Akka.Configuration.Config config) : SqlWriteJournal(config)
{
    private readonly RecoveryGate _gate = RecoveryGate.Named(config.GetString("recovery-gate"));

    /// <inheritdoc />
    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        await _gate.PassAsync(persistenceId).WaitAsync(cancellationToken);
        return await base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);
    }
}
