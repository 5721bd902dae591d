using System.Text.Json;
using System.Text.Json.Serialization;
using Supervisor.Actors.Session;

namespace Supervisor.Actors.Serialization;

/// <summary>
/// The <see cref="ProtocolSerializer"/>'s way with a token pair: it has no token key, so it neither writes one nor reads
/// one (the nodes send session events to other systems without tokens). The message never quotes a token.
/// </summary>
internal sealed class NoTokensJsonConverter : JsonConverter<SessionTokens>
{
    private const string Why = "tokens are written and read only by the supervisor's nodes, with the token key";

    public override SessionTokens Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new JsonException(Why);

    public override void Write(Utf8JsonWriter writer, SessionTokens value, JsonSerializerOptions options) => throw new JsonException(Why);
}
