using Supervisor.Actors.Serialization;

namespace Supervisor.Actors.Accounts;

/// <summary>The events of the account registry: which accounts the supervisor runs, and their handles.</summary>
public static class RegistryEvents
{
    /// <summary>An account joined the supervisor.</summary>
    public sealed record AccountRegistered(string Did, string? Handle) : IJournaled;

    /// <summary>The PDS reported a new handle for an account.</summary>
    public sealed record AccountHandleChanged(string Did, string Handle) : IJournaled;
}

/// <summary>A snapshot of the registry: every account's DID and last known handle.</summary>
public sealed record RegistrySnapshot(IReadOnlyList<RegistryEntry> Accounts) : IJournaled;

/// <summary>One account in the registry.</summary>
public sealed record RegistryEntry(string Did, string? Handle);
