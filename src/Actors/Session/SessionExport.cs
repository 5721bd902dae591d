using System.Text.Json;
using System.Text.Json.Nodes;

namespace Supervisor.Actors.Session;

/// <summary>Writes a session in the two formats other clients read.</summary>
public static class SessionExport
{
    /// <summary>The Python SDK's session string: <c>handle:::did:::accessJwt:::refreshJwt:::pdsEndpoint</c>.</summary>
    public static string ToSessionString(SessionGrant grant, string service) =>
        string.Join(":::", grant.Handle, grant.Did, grant.Tokens.AccessJwt, grant.Tokens.RefreshJwt, grant.PdsEndpoint ?? service);

    /// <summary>lex-password-session <c>SessionData</c>: the createSession fields plus <c>service</c>.</summary>
    public static string ToSessionData(SessionGrant grant, string service)
    {
        var json = new JsonObject
        {
            ["accessJwt"] = grant.Tokens.AccessJwt,
            ["refreshJwt"] = grant.Tokens.RefreshJwt,
            ["did"] = grant.Did,
            ["handle"] = grant.Handle,
        };
        if (grant.Email is not null) json["email"] = grant.Email;
        if (grant.EmailConfirmed is not null) json["emailConfirmed"] = grant.EmailConfirmed;
        json["active"] = grant.Active;
        if (grant.Status is not null) json["status"] = grant.Status;
        if (grant.PdsEndpoint is not null)
        {
            json["didDoc"] = new JsonObject
            {
                ["id"] = grant.Did,
                ["alsoKnownAs"] = new JsonArray($"at://{grant.Handle}"),
                ["service"] = new JsonArray(new JsonObject
                {
                    ["id"] = "#atproto_pds",
                    ["type"] = "AtprotoPersonalDataServer",
                    ["serviceEndpoint"] = grant.PdsEndpoint,
                }),
            };
        }
        json["service"] = service;
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }
}
