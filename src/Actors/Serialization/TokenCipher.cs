using System.Security.Cryptography;
using System.Text;
using Akka.Configuration;

namespace Supervisor.Actors.Serialization;

/// <summary>A token record that cannot be read with the configured keys (missing or wrong key).</summary>
public sealed class TokenKeyException(string message) : Exception(message);

/// <summary>
/// Encrypts tokens for the journal and snapshots with AES-256-GCM. Each value is stored as
/// <c>enc:&lt;key id&gt;:&lt;base64(nonce | ciphertext | tag)&gt;</c>; the key id (the first 8 hex digits of the
/// key's SHA-256) lets a new key be added while records written under older keys stay readable.
/// </summary>
public sealed class TokenCipher
{
    /// <summary>The prefix of an encrypted value; anything else is a plaintext token from an older record.</summary>
    public const string Prefix = "enc:";

    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly Dictionary<string, byte[]> _keys;

    /// <summary>A cipher that writes with the first key and reads with any of them.</summary>
    public TokenCipher(IReadOnlyList<byte[]> keys)
    {
        if (keys.Count == 0) throw new TokenKeyException("no token key is configured (supervisor.encryption.keys)");
        foreach (var key in keys)
            if (key.Length != 32) throw new TokenKeyException($"a token key must be 32 bytes, not {key.Length}");
        _keys = keys.GroupBy(KeyId).ToDictionary(g => g.Key, g => g.First());
        CurrentKeyId = KeyId(keys[0]);
    }

    /// <summary>The id of the key new records are written with.</summary>
    public string CurrentKeyId { get; }

    /// <summary>The ids of every key that can read.</summary>
    public IReadOnlyCollection<string> KeyIds => _keys.Keys;

    /// <summary>The id of a key: the first 8 hex digits of its SHA-256.</summary>
    public static string KeyId(byte[] key) => Convert.ToHexString(SHA256.HashData(key))[..8].ToLowerInvariant();

    /// <summary>
    /// Reads <c>supervisor.encryption.keys</c> (base64 keys, the first one current); null when none is configured.
    /// </summary>
    public static TokenCipher? FromConfig(Config config)
    {
        var keys = config.HasPath("supervisor.encryption.keys") ? config.GetStringList("supervisor.encryption.keys") : [];
        if (keys.Count == 0) return null;
        return new TokenCipher(keys.Select(ParseKey).ToList());
    }

    /// <summary>Decodes a base64 key, or says what is wrong with it (never quoting it).</summary>
    public static byte[] ParseKey(string base64)
    {
        try
        {
            var key = Convert.FromBase64String(base64.Trim());
            return key.Length == 32 ? key : throw new TokenKeyException($"a token key must be 32 bytes of base64 (openssl rand -base64 32), not {key.Length} bytes");
        }
        catch (FormatException)
        {
            throw new TokenKeyException("a token key is not base64 (make one with: openssl rand -base64 32)");
        }
    }

    /// <summary>Encrypts with the current key.</summary>
    public string Encrypt(string plaintext)
    {
        var data = Encoding.UTF8.GetBytes(plaintext);
        var sealedBytes = new byte[NonceSize + data.Length + TagSize];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_keys[CurrentKeyId], TagSize);
        aes.Encrypt(nonce, data, sealedBytes.AsSpan(NonceSize, data.Length), sealedBytes.AsSpan(NonceSize + data.Length), Encoding.ASCII.GetBytes(CurrentKeyId));
        return $"{Prefix}{CurrentKeyId}:{Convert.ToBase64String(sealedBytes)}";
    }

    /// <summary>Decrypts a stored value; a plaintext value (from a record older than encryption) is returned as it is.</summary>
    public string Decrypt(string stored)
    {
        if (!stored.StartsWith(Prefix, StringComparison.Ordinal)) return stored;
        var parts = stored.Split(':');
        if (parts.Length != 3) throw new TokenKeyException("an encrypted token record is malformed");
        var keyId = parts[1];
        if (!_keys.TryGetValue(keyId, out var key))
            throw new TokenKeyException($"a token record is encrypted with key {keyId}, which is not configured (configured: {string.Join(", ", _keys.Keys)})");
        byte[] sealedBytes;
        try
        {
            sealedBytes = Convert.FromBase64String(parts[2]);
        }
        catch (FormatException)
        {
            throw new TokenKeyException("an encrypted token record is malformed");
        }
        if (sealedBytes.Length < NonceSize + TagSize) throw new TokenKeyException("an encrypted token record is truncated");
        var length = sealedBytes.Length - NonceSize - TagSize;
        var plaintext = new byte[length];
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize, length), sealedBytes.AsSpan(NonceSize + length), plaintext, Encoding.ASCII.GetBytes(keyId));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new TokenKeyException($"a token record does not decrypt with key {keyId}: the key is wrong or the record was altered");
        }
        return Encoding.UTF8.GetString(plaintext);
    }
}
