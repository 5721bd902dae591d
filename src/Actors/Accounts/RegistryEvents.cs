using Supervisor.Actors.Serialization;

namespace Supervisor.Actors.Accounts;

/// <summary>The events of the account registry: which accounts the supervisor runs, and their handles.</summary>
public static class RegistryEvents
{
    /// <summary>An account joined the supervisor.</summary>
    public sealed record AccountRegistered(string Did, string? Handle) : IJournaled;

    /// <summary>The PDS reported a new handle for an account.</summary>
    public sealed record AccountHandleChanged(string Did, string Handle) : IJournaled;

    /// <summary>An idle account stopped; it is due again at <paramref name="WakeAt"/> (null: nothing is due).</summary>
    public sealed record AccountRested(string Did, DateTimeOffset? WakeAt, Protocol.AccountStatus Status) : IJournaled;

    /// <summary>
    /// A resting account runs again (asked for, or due): until it rests again, a restart of the cluster starts it at once,
    /// as one that never rested, since its journal may hold a refresh under way that only its recovery replays in time.
    /// </summary>
    public sealed record AccountWoke(string Did) : IJournaled;

    /// <summary>The accounts of the registry written before the cluster (one journal, <c>account-registry</c>) were spread over the buckets.</summary>
    public sealed record LegacyRegistryImported(int Accounts) : IJournaled;

    /// <summary>A createSession call was made for the identifier with this budget key (see <c>LoginBudget.Key</c>).</summary>
    public sealed record LoginAttempted(string Key, DateTimeOffset At) : IJournaled;
}

/// <summary>
/// A snapshot of the registry: every account's DID and last known handle, and the recent login attempts
/// of the login budget (absent in version 1).
/// </summary>
public sealed record RegistrySnapshot(IReadOnlyList<RegistryEntry> Accounts, IReadOnlyList<LoginAttempts>? Logins = null) : IJournaled;

/// <summary>The recent createSession calls of one budget key.</summary>
public sealed record LoginAttempts(string Key, IReadOnlyList<DateTimeOffset> At);

/// <summary>One account in the registry.</summary>
public sealed record RegistryEntry(string Did, string? Handle) : IWireMessage;

/// <summary>A snapshot of one registry bucket: its accounts, with their last journaled rest.</summary>
public sealed record RegistryBucketSnapshot(IReadOnlyList<RegistryBucketEntry> Accounts, bool LegacyImported) : IJournaled;

/// <summary>One account of a bucket: DID, handle, and when it rested last (its status and its next due time).</summary>
public sealed record RegistryBucketEntry(string Did, string? Handle, DateTimeOffset? WakeAt, Protocol.AccountStatus? Status, bool Rested = false);
