using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Supervisor.Actors.Keys;

namespace Supervisor.Host.Http;

/// <summary>
/// Who may do what (README, "Security model"):
/// <list type="bullet">
/// <item>the admin bearer token: every route (compared in constant time); browsers never attach a bearer by themselves;</item>
/// <item>an account key as bearer: its own account's XRPC (<c>/accounts/{id}/xrpc/*</c>, checked by the route) and
/// <c>/events</c>; anything else is 403;</item>
/// <item>the read-only operator password through HTTP Basic: the status page's GETs only (<c>/</c> and the account pages
/// <c>/status/accounts/{id}</c>), and never from another
/// site (<c>Sec-Fetch-Site</c> or <c>Origin</c> naming another origin is 403), since browsers attach Basic
/// credentials to cross-site requests by themselves;</item>
/// <item>open: <c>/healthz</c>, <c>/metrics</c>, and <c>/xrpc/*</c>, which authenticates as a PDS does.</item>
/// </list>
/// </summary>
public sealed class ApiAuthentication(RequestDelegate next, string adminToken, string operatorPassword, AccountKeyIndex keys)
{

    private readonly byte[] _admin = SHA256.HashData(Encoding.UTF8.GetBytes(adminToken));
    private readonly byte[] _operator = SHA256.HashData(Encoding.UTF8.GetBytes(operatorPassword));

    /// <summary>Authenticates the request and applies the route policy.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/healthz") || path.StartsWithSegments("/metrics") || path.StartsWithSegments("/xrpc")) return next(context);
        var header = context.Request.Headers.Authorization.ToString();
        var bearer = Bearer(header);
        // Right after a start the keys may still be read from the journal: a key waits for them rather than being refused.
        if (AccountKey.TryParse(bearer, out _, out _) && keys.WaitLoadedAsync(TimeSpan.FromSeconds(30), context.RequestAborted) is { IsCompleted: false } loading)
            return AfterAsync(loading, context, header, bearer);
        return Admit(context, header, bearer);
    }

    private async Task AfterAsync(Task loading, HttpContext context, string header, string? bearer)
    {
        await loading;
        await Admit(context, header, bearer);
    }

    /// <summary>Passes the request on for a caller who may make it; answers 401 or 403 otherwise.</summary>
    private Task Admit(HttpContext context, string header, string? bearer)
    {
        var caller = Authenticate(header, bearer);
        if (caller is null)
        {
            if (IsStatusPage(context)) context.Response.Headers.WWWAuthenticate = "Basic realm=\"session supervisor status\", charset=\"UTF-8\"";
            return ApiJson.Error(StatusCodes.Status401Unauthorized, "AuthenticationRequired", "a valid admin bearer token is required").ExecuteAsync(context);
        }
        if (Refusal(context, caller) is { } refused)
            return ApiJson.Error(StatusCodes.Status403Forbidden, "Forbidden", refused).ExecuteAsync(context);
        context.Features.Set(caller);
        if (caller.Key is { } key && (key.LastUsedAt is not { } last || DateTimeOffset.UtcNow - last >= TimeSpan.FromMinutes(1)))
            context.RequestServices.GetRequiredService<IRequiredActor<AccountKeys>>().ActorRef.Tell(new KeyCommands.RecordKeyUse(key.Id));
        return next(context);
    }

    private static string? Bearer(string header) =>
        header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;

    /// <summary>The caller a <paramref name="bearer"/> token or Basic credentials (the Authorization <paramref name="header"/>) show, or null.</summary>
    private Caller? Authenticate(string header, string? bearer)
    {
        if (bearer is { } token)
        {
            if (Matches(token, _admin)) return Caller.Admin;
            return keys.Authenticate(token, DateTimeOffset.UtcNow) is { } key ? new Caller(CallerKind.AccountKey, key) : null;
        }
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return null;
        try
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
            return Matches(pair[(pair.IndexOf(':') + 1)..], _operator) ? Caller.Operator : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Why <paramref name="caller"/> may not make this request, or null when it may.</summary>
    private static string? Refusal(HttpContext context, Caller caller)
    {
        var path = context.Request.Path;
        switch (caller.Kind)
        {
            case CallerKind.Admin:
                return null;
            case CallerKind.AccountKey:
                var segments = path.Value!.Split('/', StringSplitOptions.RemoveEmptyEntries);
                var ownXrpc = segments is ["accounts", _, "xrpc", _];
                return ownXrpc || path.Equals("/events") ? null : "an account key reaches only its own account's XRPC and events";
            default:
                if (!IsStatusPage(context)) return "the operator credential opens the status page only";
                return CrossSite(context) ? "a request from another site changes and reads nothing" : null;
        }
    }

    private static bool IsStatusPage(HttpContext context) =>
        HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)
            ? context.Request.Path.Equals("/") || IsAccountPage(context.Request.Path)
            : false;

    /// <summary>An account's page of the status page (<see cref="StatusPage.AccountRoute"/>), and nothing under or beside it.</summary>
    private static bool IsAccountPage(PathString path) =>
        path.Value!.Split('/') is ["", "status", "accounts", { Length: > 0 }];

    /// <summary>True when the browser says the request comes from another site (Fetch metadata, or an Origin that is not ours).</summary>
    private static bool CrossSite(HttpContext context)
    {
        var site = context.Request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0 && site is not ("same-origin" or "none")) return true;
        var origin = context.Request.Headers.Origin.ToString();
        return origin.Length > 0 && !string.Equals(origin, $"{context.Request.Scheme}://{context.Request.Host}", StringComparison.OrdinalIgnoreCase);
    }

    private static bool Matches(string presented, byte[] expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), expected);
}
