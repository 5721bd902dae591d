namespace Supervisor.Actors.Keys;

/// <summary>When one key opened and rotated its sessions, within their windows (kept in <see cref="KeyEvents.KeysSnapshot"/>).</summary>
public sealed record KeySessionCalls(string KeyId, IReadOnlyList<DateTimeOffset> Opened, IReadOnlyList<DateTimeOffset> Rotated);
