using System.Text.Json;

namespace Supervisor.Actors.Session;

/// <summary>Reads what the supervisor needs from an atproto DID document.</summary>
public static class DidDocument
{
    /// <summary>
    /// The endpoint of the <c>#atproto_pds</c> service (type AtprotoPersonalDataServer), or null when the
    /// document has none or it is not an absolute http(s) URL.
    /// </summary>
    public static string? PdsEndpoint(JsonElement didDoc)
    {
        if (didDoc.ValueKind != JsonValueKind.Object
            || !didDoc.TryGetProperty("service", out var services)
            || services.ValueKind != JsonValueKind.Array)
            return null;
        foreach (var service in services.EnumerateArray())
        {
            if (service.ValueKind != JsonValueKind.Object) continue;
            var id = SessionGrant.OptionalString(service, "id");
            if (id is null || !id.EndsWith("#atproto_pds", StringComparison.Ordinal)) continue;
            var endpoint = SessionGrant.OptionalString(service, "serviceEndpoint");
            return ServiceUrl.TryNormalize(endpoint, out var url) ? url : null;
        }
        return null;
    }
}
