using System.Text.Json;
using System.Text.Json.Serialization;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Serialization;

/// <summary>Writes a token pair as <c>{"accessJwt","refreshJwt"}</c> and reads it back through <see cref="SessionTokens.From"/>.</summary>
internal sealed class SessionTokensJsonConverter : JsonConverter<SessionTokens>
{
    public override SessionTokens Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        var root = doc.RootElement;
        try
        {
            return SessionTokens.From(SessionGrant.RequiredString(root, "accessJwt"), SessionGrant.RequiredString(root, "refreshJwt"));
        }
        catch (SessionFormatException e)
        {
            throw new JsonException($"stored tokens are unusable: {e.Message}");
        }
    }

    public override void Write(Utf8JsonWriter writer, SessionTokens value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("accessJwt", value.AccessJwt);
        writer.WriteString("refreshJwt", value.RefreshJwt);
        writer.WriteEndObject();
    }
}
