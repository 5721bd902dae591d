using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Supervisor.Actors.Account;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Journal;
using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Host.Http;

/// <summary>The operator HTTP API over the accounts supervisor (see README, "HTTP API").</summary>
public static class AccountsApi
{
    /// <summary>Maps every endpoint.</summary>
    public static void MapAccountsApi(this WebApplication app, TimeSpan askTimeout, JournalHealth journal, ServerLimits limits)
    {
        app.MapGet("/healthz", () => Results.Json(new { status = journal.IsAvailable ? "ok" : "degraded", journal = JournalJson(journal) }, ApiJson.Options));

        var accounts = app.MapGroup("/accounts");
        accounts.MapPost("", async (HttpRequest request, IRequiredActor<AccountsSupervisor> supervisor) =>
            await WithBody(request, body => new Login(
                Text(body, "service") ?? "", Text(body, "identifier") ?? "", Text(body, "password") ?? "", Text(body, "authFactorToken")),
                message => Ask(supervisor, message, askTimeout)));
        accounts.MapPost("/import", async (HttpRequest request, IRequiredActor<AccountsSupervisor> supervisor) =>
            await WithBody(request, body => new ImportSession(SessionText(body), Text(body, "service"), body.TryGetProperty("validate", out var v) ? v.ValueKind != JsonValueKind.False : true),
                message => Ask(supervisor, message, askTimeout)));
        accounts.MapPost("/create", async (HttpRequest request, IRequiredActor<AccountsSupervisor> supervisor) =>
            await WithBody(request, body => new CreateAccount(
                Text(body, "service") ?? "", Text(body, "handle") ?? "", Text(body, "email") ?? "", Text(body, "password") ?? "", Text(body, "inviteCode")),
                message => Ask(supervisor, message, askTimeout)));
        accounts.MapGet("", (IRequiredActor<AccountsSupervisor> supervisor) => Ask(supervisor, ListAccounts.Instance, askTimeout));
        accounts.MapGet("/{id}", (string id, IRequiredActor<AccountsSupervisor> supervisor) => Ask(supervisor, new GetAccountStatus(id), askTimeout));
        accounts.MapGet("/{id}/session", (string id, string? format, IRequiredActor<AccountsSupervisor> supervisor) =>
            format?.ToLowerInvariant() switch
            {
                null or "python" => Ask(supervisor, new ExportSession(id, SessionFormat.Python), askTimeout),
                "json" => Ask(supervisor, new ExportSession(id, SessionFormat.Json), askTimeout),
                _ => Task.FromResult(ApiJson.Error(400, "InvalidRequest", "format must be 'python' or 'json'")),
            });
        accounts.MapPost("/{id}/refresh", (string id, IRequiredActor<AccountsSupervisor> supervisor) => Ask(supervisor, new RefreshNow(id), askTimeout));
        accounts.MapDelete("/{id}", (string id, IRequiredActor<AccountsSupervisor> supervisor) => Ask(supervisor, new Logout(id), askTimeout));
        accounts.MapGet("/{id}/xrpc/{nsid}", (string id, string nsid, HttpRequest request, IRequiredActor<AccountsSupervisor> supervisor) =>
            Call(supervisor, id, nsid, new XrpcRequest(nsid, XrpcMethodKind.Query,
                request.Query.SelectMany(q => q.Value.Select(v => KeyValuePair.Create(q.Key, v ?? ""))).ToList()), askTimeout));
        accounts.MapPost("/{id}/xrpc/{nsid}", async (string id, string nsid, HttpRequest request, IRequiredActor<AccountsSupervisor> supervisor) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            return await Call(supervisor, id, nsid, new XrpcRequest(nsid, XrpcMethodKind.Procedure,
                request.Query.SelectMany(q => q.Value.Select(v => KeyValuePair.Create(q.Key, v ?? ""))).ToList(),
                body.Length == 0 ? null : body, request.ContentType ?? "application/json"), askTimeout);
        });

        app.MapGet("/status", async (IRequiredActor<AccountsSupervisor> supervisor) =>
        {
            var list = await supervisor.ActorRef.Ask<AccountList>(ListAccounts.Instance, askTimeout);
            var counts = await supervisor.ActorRef.Ask<SupervisorCounts>(GetSupervisorCounts.Instance, askTimeout);
            return Results.Json(new
            {
                journal = JournalJson(journal),
                servers = limits.Snapshot(DateTimeOffset.UtcNow),
                total = list.Accounts.Count,
                running = counts.Live,
                passivated = counts.Passivated,
                byState = list.Accounts.GroupBy(a => a.State).ToDictionary(g => g.Key.ToString(), g => g.Count()),
                accounts = list.Accounts,
            }, ApiJson.Options);
        });
    }

    /// <summary>The journal's availability as the status and health endpoints show it.</summary>
    private static object JournalJson(JournalHealth journal)
    {
        var current = journal.Current;
        return new { state = current.Available ? "Available" : "Degraded", since = current.Since, error = current.Error };
    }

    private static Task<IResult> Call(IRequiredActor<AccountsSupervisor> supervisor, string id, string nsid, XrpcRequest request, TimeSpan timeout) =>
        XrpcRequest.IsValidNsid(nsid)
            ? Ask(supervisor, new CallXrpc(id, request), timeout)
            : Task.FromResult(ApiJson.Error(400, "InvalidRequest", "the method is not a valid NSID"));

    private static async Task<IResult> WithBody(HttpRequest request, Func<JsonElement, object> build, Func<object, Task<IResult>> send)
    {
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
            return await send(build(doc.RootElement));
        }
    }

    private static string? Text(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The import body's <c>session</c>: a session string, or a SessionData object.</summary>
    private static string SessionText(JsonElement body) =>
        body.TryGetProperty("session", out var session)
            ? session.ValueKind == JsonValueKind.String ? session.GetString() ?? "" : session.GetRawText()
            : "";

    private static async Task<IResult> Ask(IRequiredActor<AccountsSupervisor> supervisor, object message, TimeSpan timeout)
    {
        object reply;
        try
        {
            reply = await supervisor.ActorRef.Ask<object>(message, timeout);
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
        AccountList list => Results.Json(list.Accounts, ApiJson.Options),
        AccountNotFound missing => ApiJson.Error(404, "AccountNotFound", $"no account '{missing.AccountId}'"),
        AccountUnavailable unavailable => ApiJson.Error(
            unavailable.State == AccountStateName.Degraded ? 503 : 409,
            unavailable.Error.Error,
            $"account {unavailable.Did} is {unavailable.State}: {unavailable.Error.Message}",
            unavailable.RetryNotBefore),
        SessionExported exported => exported.Format == SessionFormat.Json
            ? Results.Text(exported.Session, "application/json")
            : Results.Json(new { did = exported.Did, format = "python", session = exported.Session }, ApiJson.Options),
        LoggedOut done => Results.Json(new { did = done.Did, state = AccountStateName.LoggedOut }, ApiJson.Options),
        LogoutPending pending => Results.Json(new { did = pending.Did, state = AccountStateName.LoggingOut, error = pending.Error, retryAt = pending.RetryAt }, ApiJson.Options, statusCode: 202),
        RefreshCompleted refreshed => Results.Json(refreshed.Status, ApiJson.Options),
        XrpcResponse { IsTransportFailure: true } failed => ApiJson.Error(failed.Error!.Error == XrpcError.Timeout ? 504 : 502, failed.Error.Error, failed.Error.Message),
        XrpcResponse answer => new UpstreamResult(answer),
        _ => ApiJson.Error(500, "InternalError", $"unexpected answer {reply.GetType().Name}"),
    };

    private static IResult Rejected(SessionRejected rejected)
    {
        var status = rejected.Reason switch
        {
            SessionRejection.InvalidCredentials or SessionRejection.AuthFactorTokenRequired or SessionRejection.SessionRevoked => 401,
            SessionRejection.AccountTakedown => 403,
            SessionRejection.RateLimited => 429,
            SessionRejection.InvalidRequest or SessionRejection.InvalidSession => 400,
            // Refused here, not by the server: a new account could not be journaled (see README, PostgreSQL).
            SessionRejection.ServiceUnavailable when rejected.Error.Error == "JournalUnavailable" => 503,
            _ => 502,
        };
        return ApiJson.Error(status, rejected.Error.Error, rejected.Error.Message, rejected.RetryNotBefore);
    }
}
