using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Host.Proxy;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Host.Http;

/// <summary>The operator HTTP API over the accounts supervisor (see README, "HTTP API").</summary>
public static class AccountsApi
{
    /// <summary>Maps every endpoint.</summary>
    public static void MapAccountsApi(this WebApplication app, TimeSpan askTimeout, ActorSystemEnd end, JournalHealth journal, ServerLimits limits, XrpcPassThrough proxy)
    {
        // Open to anyone who reaches the host: the journal's state, never its database's error (a host, a user name); /status has it.
        app.MapGet("/healthz", () => Results.Json(new { status = journal.IsAvailable ? "ok" : "degraded", journal = JournalJson(journal, withError: false) }, ApiJson.Options));

        var accounts = app.MapGroup("/accounts");
        accounts.MapPost("", async (HttpRequest request, IRequiredActor<AccountsSupervisor> supervisor) =>
            await WithBody(request, body => Ask(supervisor, new Login(
                ApiJson.Text(body, "service") ?? "", ApiJson.Text(body, "identifier") ?? "", ApiJson.Text(body, "password") ?? "", ApiJson.Text(body, "authFactorToken")), askTimeout, end.Token)));
        accounts.MapPost("/import", async (HttpRequest request, IRequiredActor<AccountsSupervisor> supervisor) =>
            await WithBody(request, body => Ask(supervisor,
                new ImportSession(SessionText(body), ApiJson.Text(body, "service"), body.TryGetProperty("validate", out var v) ? v.ValueKind != JsonValueKind.False : true), askTimeout, end.Token)));
        accounts.MapPost("/create", async (HttpRequest request, IRequiredActor<AccountsSupervisor> supervisor) =>
            await WithBody(request, body => Ask(supervisor, new CreateAccount(
                ApiJson.Text(body, "service") ?? "", ApiJson.Text(body, "handle") ?? "", ApiJson.Text(body, "email") ?? "", ApiJson.Text(body, "password") ?? "", ApiJson.Text(body, "inviteCode")), askTimeout, end.Token)));
        // One page of statuses by DID: ?state=&q=&limit=&cursor= (see ListingQuery); answered {accounts, cursor}, the cursor left out on the last page.
        accounts.MapGet("", (HttpRequest request, IRequiredActor<AccountsSupervisor> supervisor) =>
            ListingQuery.TryParse(request.Query, out var listing, out var problem)
                ? Ask(supervisor, listing, askTimeout, end.Token)
                : Task.FromResult(ApiJson.Error(400, "InvalidRequest", problem)));
        accounts.MapGet("/{id}", (string id, IRequiredActor<AccountsSupervisor> supervisor) => Ask(supervisor, new GetAccountStatus(id), askTimeout, end.Token));
        accounts.MapGet("/{id}/session", (string id, string? format, HttpContext context, IRequiredActor<AccountsSupervisor> supervisor) =>
            format?.ToLowerInvariant() switch
            {
                null or "python" => Ask(supervisor, new ExportSession(id, SessionFormat.Python, Caller.Of(context)!.Credential), askTimeout, end.Token),
                "json" => Ask(supervisor, new ExportSession(id, SessionFormat.Json, Caller.Of(context)!.Credential), askTimeout, end.Token),
                _ => Task.FromResult(ApiJson.Error(400, "InvalidRequest", "format must be 'python' or 'json'")),
            });
        accounts.MapPost("/{id}/refresh", (string id, IRequiredActor<AccountsSupervisor> supervisor) => Ask(supervisor, new RefreshNow(id), askTimeout, end.Token));
        accounts.MapDelete("/{id}", (string id, HttpContext context, IRequiredActor<AccountsSupervisor> supervisor) =>
            Ask(supervisor, new Logout(id, Caller.Of(context)!.Credential), askTimeout, end.Token));
        // Streamed both ways between the client and the PDS (see XrpcPassThrough); an account key reaches only its own account.
        // The supervisor from the host's services, not the request's: asking the request for a service makes it a scope.
        var supervisorRef = app.Services.GetRequiredService<IRequiredActor<AccountsSupervisor>>();
        accounts.Map("/{id}/xrpc/{nsid}", (string id, string nsid, HttpContext context) =>
            proxy.ForwardAsync(context, supervisorRef.ActorRef, id, nsid, Caller.Of(context)!));

        app.MapGet("/status", async (IRequiredActor<AccountsSupervisor> supervisor, Akka.Actor.ActorSystem system) =>
        {
            // Counts only: the accounts themselves are listed page by page at GET /accounts.
            var counts = await supervisor.ActorRef.Ask<AccountCounts>(GetAccountCounts.Instance, askTimeout, end.Token);
            return Results.Json(new
            {
                journal = JournalJson(journal),
                servers = limits.Snapshot(DateTimeOffset.UtcNow),
                total = counts.Total,
                running = counts.Running,
                passivated = counts.Passivated,
                unjournaledEvents = counts.UnjournaledEvents,
                byState = counts.ByState.ToDictionary(c => c.Key.ToString(), c => c.Value),
                cluster = ClusterJson(system),
            }, ApiJson.Options);
        });
    }

    /// <summary>
    /// This node, the leader, the oldest supervisor node (where the shard coordinators run), the cluster's members (address,
    /// status, roles) and the members this node cannot reach.
    /// </summary>
    internal static object ClusterJson(Akka.Actor.ActorSystem system)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var state = cluster.State;
        return new
        {
            self = cluster.SelfAddress.ToString(),
            leader = state.Leader?.ToString(),
            oldest = state.Members.Where(m => m.Status is Akka.Cluster.MemberStatus.Up or Akka.Cluster.MemberStatus.Leaving && m.HasRole(Supervisor.Actors.Cluster.ClusterRoles.Supervisor))
                .OrderBy(m => m, Akka.Cluster.Member.AgeOrdering).FirstOrDefault()?.Address.ToString(),
            members = state.Members.Select(m => new { address = m.Address.ToString(), status = m.Status.ToString(), roles = m.Roles.ToArray() }).ToArray(),
            unreachable = state.Unreachable.Select(m => m.Address.ToString()).ToArray(),
        };
    }

    /// <summary>The journal's availability as the status and health endpoints show it; the database's error for the admin only.</summary>
    private static object JournalJson(JournalHealth journal, bool withError = true)
    {
        var current = journal.Current;
        return new { state = current.Available ? "Available" : "Degraded", since = current.Since, error = withError ? current.Error : null };
    }

    /// <summary>
    /// Reads the JSON object body of one of the supervisor's own routes and hands it to <paramref name="send"/>. The
    /// body must be sent as <c>application/json</c> (415 otherwise: a browser form cannot send that cross-site
    /// without a preflight) and be valid UTF-8 JSON (400 otherwise).
    /// </summary>
    public static async Task<IResult> WithBody(HttpRequest request, Func<JsonElement, Task<IResult>> send)
    {
        if (!request.HasJsonContentType())
            return ApiJson.Error(415, "UnsupportedMediaType", "the body must be sent as application/json");
        JsonDocument doc;
        try
        {
            doc = await JsonDocument.ParseAsync(request.Body);
        }
        catch (JsonException e)
        {
            return ApiJson.Error(400, "InvalidRequest", $"the body is not JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return ApiJson.Error(400, "InvalidRequest", "the body must be a JSON object");
            if (!EveryStringReads(doc.RootElement))
                return ApiJson.Error(400, "InvalidRequest", "the body holds a string that is not valid UTF-8 or escapes half a surrogate pair");
            // What fails beyond this point fails in the supervisor, not in the body: the host's 500 (or 504), never a 400.
            return await send(doc.RootElement);
        }
    }

    /// <summary>
    /// Whether every string of <paramref name="element"/>, names included, reads as text: JSON's parser takes bytes that
    /// are not UTF-8 and an escaped lone surrogate (<c>"\ud800"</c>) inside a string, and only reading it throws.
    /// </summary>
    private static bool EveryStringReads(JsonElement element)
    {
        try
        {
            Read(element);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }

        static void Read(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.String:
                    _ = e.GetString();
                    break;
                case JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray()) Read(item);
                    break;
                case JsonValueKind.Object:
                    foreach (var property in e.EnumerateObject())
                    {
                        _ = property.Name;
                        Read(property.Value);
                    }
                    break;
            }
        }
    }


    /// <summary>The import body's <c>session</c>: a session string, or a SessionData object.</summary>
    private static string SessionText(JsonElement body) =>
        body.TryGetProperty("session", out var session)
            ? session.ValueKind == JsonValueKind.String ? session.GetString() ?? "" : session.GetRawText()
            : "";

    private static async Task<IResult> Ask(IRequiredActor<AccountsSupervisor> supervisor, object message, TimeSpan timeout, CancellationToken ended)
    {
        object reply;
        try
        {
            reply = await supervisor.ActorRef.AskAccountAsync(message, timeout, cancel: ended);
        }
        catch (AskTimeoutException)
        {
            return ApiJson.Error(504, "Timeout", "the supervisor did not answer in time");
        }
        return ToResult(reply);
    }

    private static IResult ToResult(object reply) => reply switch
    {
        SessionStarted started => Results.Json(started.Status, ApiJson.Options, statusCode: 201),
        SessionRejected rejected => Rejected(rejected),
        AccountStatus status => Results.Json(status, ApiJson.Options),
        AccountList list => Results.Json(new { accounts = list.Accounts, cursor = list.NextCursor }, ApiJson.Options),
        InvalidQuery invalid => ApiJson.Error(400, invalid.Error.Error, invalid.Error.Message),
        AccountNotFound missing => ApiJson.Error(404, "AccountNotFound", $"no account '{missing.AccountId}'"),
        AccountUnavailable unavailable => ApiJson.Unavailable(unavailable),
        AccountMoved moved => ApiJson.Moving(moved),
        SessionExported exported => exported.Format == SessionFormat.Json
            ? Results.Text(exported.Session, "application/json")
            : Results.Json(new { did = exported.Did, format = "python", session = exported.Session }, ApiJson.Options),
        LoggedOut done => Results.Json(new { did = done.Did, state = AccountStateName.LoggedOut }, ApiJson.Options),
        LogoutPending pending => Results.Json(new { did = pending.Did, state = AccountStateName.LoggingOut, error = pending.Error, retryAt = pending.RetryAt }, ApiJson.Options, statusCode: 202),
        RefreshCompleted refreshed => Results.Json(refreshed.Status, ApiJson.Options),
        _ => ApiJson.Error(500, "InternalError", $"unexpected answer {reply.GetType().Name}"),
    };

    private static IResult Rejected(SessionRejected rejected)
    {
        var status = rejected.Reason switch
        {
            SessionRejection.InvalidCredentials or SessionRejection.AuthFactorTokenRequired or SessionRejection.SessionRevoked => 401,
            SessionRejection.AccountTakedown or SessionRejection.IdentityUnverified => 403,
            SessionRejection.AccountConflict => 409,
            SessionRejection.RateLimited => 429,
            SessionRejection.InvalidRequest or SessionRejection.InvalidSession => 400,
            // Refused here, not by the server: a new account could not be journaled (see README, PostgreSQL).
            SessionRejection.ServiceUnavailable when rejected.Error.Error == "JournalUnavailable" => 503,
            _ => 502,
        };
        return ApiJson.Error(status, rejected.Error.Error, rejected.Error.Message, rejected.RetryNotBefore);
    }
}
