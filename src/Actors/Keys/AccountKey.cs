using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Supervisor.Actors.Keys;

/// <summary>
/// The text of an account key: <c>sk_&lt;id&gt;_&lt;secret&gt;</c>, with a 16-hex-digit id and 32 random bytes of secret
/// (base64url). Only the SHA-256 of the secret is kept; the key is shown once, when it is issued.
/// </summary>
public static class AccountKey
{
    private const string Prefix = "sk_";

    /// <summary>A new key: its id, its full text and the hash of its secret.</summary>
    public static (string Id, string Key, string Hash) New()
    {
        var id = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var secret = Session.JwtClaims.EncodeSegment(RandomNumberGenerator.GetBytes(32));
        return (id, $"{Prefix}{id}_{secret}", Hash(secret));
    }

    /// <summary>Splits a presented key into id and secret; false when it is not shaped as a key.</summary>
    public static bool TryParse(string? text, out string id, out string secret)
    {
        id = secret = "";
        if (text is not { Length: > 20 and < 128 } || !text.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        var rest = text[Prefix.Length..];
        var split = rest.IndexOf('_');
        if (split != 16) return false;
        id = rest[..16];
        secret = rest[17..];
        return id.All(char.IsAsciiHexDigitLower) && secret.Length > 0;
    }

    /// <summary>The lower-case hex SHA-256 of a secret: what is kept of a key.</summary>
    public static string Hash(string secret)
    {
        Span<char> hex = stackalloc char[HexLength];
        HashInto(secret, hex);
        return new string(hex);
    }

    /// <summary>
    /// Compares a presented secret with a stored hash in constant time; on the stack (it runs for every request an account
    /// key makes).
    /// </summary>
    public static bool Matches(string secret, string hash)
    {
        Span<char> hex = stackalloc char[HexLength];
        HashInto(secret, hex);
        return CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(hex), MemoryMarshal.AsBytes(hash.AsSpan()));
    }

    private const int HexLength = SHA256.HashSizeInBytes * 2;

    /// <summary>Writes <see cref="Hash"/> of <paramref name="secret"/> into <paramref name="hex"/>, without an array for a secret of a key's size.</summary>
    private static void HashInto(string secret, Span<char> hex)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        if (secret.Length <= 128)
        {
            Span<byte> utf8 = stackalloc byte[128 * 3];
            SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(secret, utf8)], digest);
        }
        else SHA256.HashData(Encoding.UTF8.GetBytes(secret), digest);
        Convert.TryToHexStringLower(digest, hex, out _);
    }
}
