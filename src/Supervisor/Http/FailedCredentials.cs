using System.Collections.Concurrent;
using System.Net;

namespace Supervisor.Host.Http;

/// <summary>
/// Wrong admin tokens and operator passwords, counted for each client address in minute windows: past
/// <see cref="PerMinute"/> in one, that address's admin and operator credentials are refused unread (429) until the
/// next, so that a guessable secret cannot be tried at the network's speed. Account keys (random, 256 bits) are neither
/// counted nor held: a bot with a revoked key never locks the operator out. Thread-safe, bounded.
/// </summary>
public sealed class FailedCredentials(TimeProvider time)
{
    /// <summary>The most wrong credentials one address may send in a minute.</summary>
    public const int PerMinute = 20;

    /// <summary>The most addresses followed; past it, those of past minutes are forgotten (all, if none are).</summary>
    public const int MaxAddresses = 10_000;

    private readonly ConcurrentDictionary<IPAddress, (long Minute, int Count)> _failures = new();

    /// <summary>When <paramref name="client"/> may try again, or null when it may now.</summary>
    public DateTimeOffset? HeldUntil(IPAddress? client)
    {
        var minute = Minute();
        return client is not null && _failures.TryGetValue(client, out var seen) && seen.Minute == minute && seen.Count >= PerMinute
            ? DateTimeOffset.FromUnixTimeSeconds((minute + 1) * 60)
            : null;
    }

    /// <summary>Counts a wrong credential from <paramref name="client"/>.</summary>
    public void Failed(IPAddress? client)
    {
        if (client is null) return;
        var minute = Minute();
        if (_failures.Count >= MaxAddresses && !_failures.ContainsKey(client))
        {
            foreach (var (address, seen) in _failures)
                if (seen.Minute != minute) _failures.TryRemove(address, out _);
            if (_failures.Count >= MaxAddresses) _failures.Clear();
        }
        _failures.AddOrUpdate(client, (minute, 1), (_, seen) => seen.Minute == minute ? (minute, seen.Count + 1) : (minute, 1));
    }

    private long Minute() => time.GetUtcNow().ToUnixTimeSeconds() / 60;
}
