using Akka.Actor;
using Akka.Persistence;
using static Supervisor.Actors.Accounts.RegistryEvents;

namespace Supervisor.Actors.Accounts;

/// <summary>
/// Reads the registry journal written before the cluster (one persistence id for every account) and tells its
/// parent the accounts it held (<see cref="RegistryBucket.LegacyRegistry"/>). It writes nothing.
/// </summary>
public sealed class LegacyRegistryReader : ReceivePersistentActor
{
    private readonly Dictionary<string, string?> _accounts = new(StringComparer.Ordinal);

    /// <summary>Props for the reader of <paramref name="persistenceId"/>.</summary>
    public static Props Props(string persistenceId) => Akka.Actor.Props.Create(() => new LegacyRegistryReader(persistenceId));

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <summary>Creates the reader.</summary>
    public LegacyRegistryReader(string persistenceId)
    {
        PersistenceId = persistenceId;
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is RegistrySnapshot snapshot)
                foreach (var entry in snapshot.Accounts) _accounts[entry.Did] = entry.Handle;
        });
        Recover<AccountRegistered>(e => _accounts[e.Did] = e.Handle);
        Recover<AccountHandleChanged>(e => _accounts[e.Did] = e.Handle);
        Recover<LoginAttempted>(_ => { });
        Recover<RecoveryCompleted>(_ =>
            Context.Parent.Tell(new RegistryBucket.LegacyRegistry(_accounts.Select(a => new RegistryEntry(a.Key, a.Value)).ToList())));
        CommandAny(_ => { });
    }
}
