using System.Security.Cryptography;
using System.Text;

namespace Supervisor.Actors.Clients;

/// <summary>
/// The actor systems outside the cluster that are trusted with tokens, each by name and the SHA-256 digest of its
/// secret (the nodes never hold the secret itself). Configured as <c>SUPERVISOR_TRUSTED_CLIENTS</c>:
/// <c>name=hex-sha256,name=hex-sha256</c>; a digest is made with <c>printf %s "$secret" | sha256sum</c>.
/// </summary>
public sealed class TrustedClients
{
    /// <summary>No client is trusted.</summary>
    public static readonly TrustedClients None = new(new Dictionary<string, byte[]>());

    private readonly IReadOnlyDictionary<string, byte[]> _digests;

    private TrustedClients(IReadOnlyDictionary<string, byte[]> digests) => _digests = digests;

    /// <summary>How many clients are trusted.</summary>
    public int Count => _digests.Count;

    /// <summary>
    /// Reads <c>name=hex-sha256</c> pairs separated by commas (null or empty: none). Throws <see cref="FormatException"/>
    /// saying which entry is wrong, by position (a value is never quoted: an operator may have put a secret there).
    /// </summary>
    public static TrustedClients Parse(string? spec)
    {
        var digests = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var entries = (spec ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (var i = 0; i < entries.Length; i++)
        {
            var at = entries[i].IndexOf('=');
            var name = at > 0 ? entries[i][..at].Trim() : "";
            var hex = at > 0 ? entries[i][(at + 1)..].Trim() : "";
            if (name.Length == 0 || hex.Length != 64 || !hex.All(Uri.IsHexDigit))
                throw new FormatException($"SUPERVISOR_TRUSTED_CLIENTS: entry {i + 1} is not name=<SHA-256 of the secret in 64 hex digits>");
            if (!digests.TryAdd(name, Convert.FromHexString(hex)))
                throw new FormatException($"SUPERVISOR_TRUSTED_CLIENTS: the client '{name}' is named twice");
        }
        return new TrustedClients(digests);
    }

    /// <summary>Whether <paramref name="secret"/> is the secret of the trusted client <paramref name="client"/> (compared in constant time).</summary>
    public bool Verify(string client, string secret)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        return _digests.TryGetValue(client, out var expected) && CryptographicOperations.FixedTimeEquals(digest, expected);
    }
}
