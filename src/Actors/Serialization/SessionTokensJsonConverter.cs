using System.Text.Json;
using System.Text.Json.Serialization;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Serialization;

/// <summary>
/// Writes a token pair as <c>{"accessJwt","refreshJwt"}</c>, each encrypted when a cipher is given, and
/// reads it back (encrypted or, from older records, plain) through <see cref="SessionTokens.From"/>.
/// </summary>
internal sealed class SessionTokensJsonConverter(TokenCipher? cipher) : JsonConverter<SessionTokens>
{
    public override SessionTokens Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        var root = doc.RootElement;
        try
        {
            return SessionTokens.From(Open(SessionGrant.RequiredString(root, "accessJwt")), Open(SessionGrant.RequiredString(root, "refreshJwt")));
        }
        catch (SessionFormatException e)
        {
            throw new JsonException($"stored tokens are unusable: {e.Message}");
        }
    }

    public override void Write(Utf8JsonWriter writer, SessionTokens value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("accessJwt", Seal(value.AccessJwt));
        writer.WriteString("refreshJwt", Seal(value.RefreshJwt));
        writer.WriteEndObject();
    }

    private string Seal(string token) => cipher?.Encrypt(token) ?? token;

    private string Open(string stored) =>
        cipher?.Decrypt(stored) ?? (stored.StartsWith(TokenCipher.Prefix, StringComparison.Ordinal)
            ? throw new TokenKeyException("a token record is encrypted but no token key is configured")
            : stored);
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
