using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Audit;
using Supervisor.Actors.Keys;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Host.Proxy;
using static Supervisor.Actors.Keys.KeyCommands;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Host.Http;

/// <summary>
/// Account keys and the audit trail for the admin (README, "Account keys"): <c>POST /keys</c> issues a key bound to
/// one account's DID (shown once, kept only as a hash), <c>GET /keys</c> lists them without secrets,
/// <c>DELETE /keys/{id}</c> revokes one; <c>GET /audit</c> lists what handed out or ended access, newest first.
/// </summary>
public static class KeysApi
{
    /// <summary>
    /// How long a change answers late so that this node's copy of the keys holds it (the keys' owner may run on another
    /// node; the change reaches every node within milliseconds, this bound only caps a lost message).
    /// </summary>
    internal static readonly TimeSpan ReadYourWrite = TimeSpan.FromSeconds(3);

    /// <summary>The longest name of a key (characters).</summary>
    public const int MaxKeyName = 256;

    /// <summary>The most methods a key may be issued with (each a name or namespace of at most <see cref="MaxNsid"/> characters).</summary>
    public const int MaxAllowed = 64;

    /// <summary>The longest NSID (the atproto specification's bound).</summary>
    public const int MaxNsid = 317;

    /// <summary>Maps the endpoints.</summary>
    public static void MapKeysApi(this WebApplication app, ProxySettings settings, TimeSpan askTimeout, ActorSystemEnd end)
    {
        app.MapPost("/keys", async (HttpContext context, IRequiredActor<AccountsSupervisor> accounts, IRequiredActor<AccountKeys> keys, AccountKeyIndex index) =>
            await AccountsApi.WithBody(context.Request, async body =>
            {
                if (ApiJson.Text(body, "account") is not { Length: > 0 } account) return ApiJson.Error(400, "InvalidRequest", "'account' (a DID or handle) is required");
                DateTimeOffset? expiresAt = null;
                if (body.TryGetProperty("expiresAt", out var e) && e.ValueKind != JsonValueKind.Null)
                {
                    if (e.ValueKind != JsonValueKind.String || !DateTimeOffset.TryParse(e.GetString(), System.Globalization.CultureInfo.InvariantCulture,
                            System.Globalization.DateTimeStyles.AssumeUniversal, out var at) || at <= DateTimeOffset.UtcNow)
                        return ApiJson.Error(400, "InvalidRequest", "'expiresAt' must be a time in the future (ISO 8601)");
                    expiresAt = at;
                }
                var allow = new List<string>();
                if (body.TryGetProperty("allow", out var a) && a.ValueKind != JsonValueKind.Null)
                {
                    if (a.ValueKind != JsonValueKind.Array || a.GetArrayLength() > MaxAllowed
                        || a.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.String || m.GetString()!.Length > MaxNsid || !MethodPatterns.Matches(settings.PrivilegedMethods, m.GetString()!)))
                        // Journaled, copied to every node and matched at each call: a chat.bsky.* allows any name under it, not any number.
                        return ApiJson.Error(400, "InvalidRequest", $"'allow' lists at most {MaxAllowed} privileged methods (a namespace.* for all under it): " + string.Join(", ", settings.PrivilegedMethods.Order()));
                    allow.AddRange(a.EnumerateArray().Select(m => m.GetString()!).Distinct());
                }
                // Journaled, copied to every node and listed: a label, not a document.
                var name = ApiJson.Text(body, "name");
                if (name is { Length: > MaxKeyName }) return ApiJson.Error(400, "InvalidRequest", $"'name' is longer than {MaxKeyName} characters");
                var status = await accounts.ActorRef.AskAccountAsync(new GetAccountStatus(account), askTimeout, cancel: end.Token);
                if (status is not AccountStatus found) return ApiJson.Error(404, "AccountNotFound", $"no account '{account}'");
                var by = Caller.Of(context)!.Credential;
                // The key is made here: only its hash goes to the keys' owner (which may run on another node).
                var (id, key, hash) = AccountKey.New();
                var issued = await keys.ActorRef.Ask<KeyIssuedReply>(new IssueKey(id, hash, found.Did, name, expiresAt, allow, by), askTimeout, end.Token);
                await index.WaitForAsync(issued.SequenceNr, ReadYourWrite);
                return Results.Json(new { id, key, account = found.Did, name = issued.Info.Name, expiresAt, allow }, ApiJson.Options, statusCode: 201);
            }));
        app.MapGet("/keys", (AccountKeyIndex index) =>
            Results.Json(index.Keys.OrderBy(k => k.IssuedAt).Select(Describe), ApiJson.Options));
        app.MapDelete("/keys/{id}", async (string id, HttpContext context, IRequiredActor<AccountKeys> keys, AccountKeyIndex index) =>
        {
            if (await keys.ActorRef.Ask<object>(new RevokeKey(id, Caller.Of(context)!.Credential), askTimeout, end.Token) is not KeyRevokedReply revoked)
                return ApiJson.Error(404, "KeyNotFound", $"no key '{id}'");
            await index.WaitForAsync(revoked.SequenceNr, ReadYourWrite);
            return Results.Json(Describe(revoked.Info), ApiJson.Options);
        });
        app.MapGet("/audit", async (HttpContext context, IRequiredActor<AuditTrail> audit) =>
            AuditQuery.TryParse(context.Request.Query, out var get, out var problem)
                ? Results.Json((await audit.ActorRef.Ask<AuditTrail.AuditEntries>(get, askTimeout, end.Token)).Entries, ApiJson.Options)
                : ApiJson.Error(400, "InvalidRequest", problem));
    }

    /// <summary>A key as listed: never its secret, nor the hash of it.</summary>
    private static object Describe(AccountKeyInfo k) => new
    {
        id = k.Id, account = k.Did, name = k.Name, expiresAt = k.ExpiresAt, allow = k.Allow, issuedBy = k.IssuedBy, issuedAt = k.IssuedAt,
        lastUsedAt = k.LastUsedAt, revokedAt = k.RevokedAt,
    };

}
