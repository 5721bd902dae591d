using System.Text.Json;
using System.Text.Json.Serialization;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Serialization;

/// <summary>
/// Writes a token pair as <c>{"accessJwt","refreshJwt"}</c>, each encrypted when a cipher is given, and
/// reads it back (encrypted or, from older records, plain) through <see cref="SessionTokens.From"/>.
/// A stored pair that no longer validates (written by older code that accepted any expiry) is read as
/// <see cref="SessionTokens.Unusable"/> rather than failing the recovery: the account rules end its session. With
/// <c>sealedOnly</c> (messages between systems) a pair in plain text is refused.
/// </summary>
internal sealed class SessionTokensJsonConverter(TokenCipher? cipher, bool sealedOnly = false) : JsonConverter<SessionTokens>
{
    public override SessionTokens Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        var root = doc.RootElement;
        var access = Stored(root, "accessJwt");
        var refresh = Stored(root, "refreshJwt");
        try
        {
            return SessionTokens.From(access, refresh);
        }
        catch (SessionFormatException e) when (!sealedOnly)
        {
            return SessionTokens.Unusable(access ?? "", refresh ?? "", e.Message);
        }
        catch (SessionFormatException e)
        {
            // Between systems a pair is whole and valid, or the message builds nothing (it is not a journal to recover).
            throw new JsonException("a token pair between systems is not a valid pair: " + e.Message);
        }
    }

    public override void Write(Utf8JsonWriter writer, SessionTokens value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("accessJwt", Seal(value.AccessJwt));
        writer.WriteString("refreshJwt", Seal(value.RefreshJwt));
        writer.WriteEndObject();
    }

    /// <summary>
    /// The stored token opened, or null when the field is missing or not a string (From names it; between systems,
    /// <c>sealedOnly</c>, a token that is not there sealed is refused here).
    /// </summary>
    private string? Stored(JsonElement root, string name)
    {
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
            return Open(value.GetString()!);
        return sealedOnly ? throw new JsonException($"a token pair between systems must be sealed with the cluster's token key: its {name} is not there") : null;
    }

    private string Seal(string token) => cipher?.Encrypt(token) ?? token;

    private string Open(string stored)
    {
        if (sealedOnly && !stored.StartsWith(TokenCipher.Prefix, StringComparison.Ordinal))
            throw new JsonException("a token pair between systems must be sealed with the cluster's token key: this one is in plain text");
        return cipher?.Decrypt(stored) ?? (stored.StartsWith(TokenCipher.Prefix, StringComparison.Ordinal)
            ? throw new TokenKeyException("a token record is encrypted but no token key is configured")
            : stored);
    }
}

/// <summary>Writes a <see cref="SecretToken"/> encrypted (when a cipher is given) and reads it back.</summary>
internal sealed class SecretTokenJsonConverter(TokenCipher? cipher) : JsonConverter<SecretToken>
{
    public override SecretToken Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var stored = reader.GetString() ?? throw new JsonException("a stored token is null");
        return new SecretToken(cipher?.Decrypt(stored) ?? stored);
    }

    public override void Write(Utf8JsonWriter writer, SecretToken value, JsonSerializerOptions options) =>
        writer.WriteStringValue(cipher?.Encrypt(value.Value) ?? value.Value);
}
