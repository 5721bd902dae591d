using System.Text.Json;
using System.Text.Json.Serialization;

namespace Supervisor.Host.Http;

/// <summary>The JSON shape of the HTTP API: camelCase, enums as strings, nulls left out.</summary>
public static class ApiJson
{
    /// <summary>The options every endpoint writes and reads with.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>An error answer <c>{error, message}</c>.</summary>
    public static IResult Error(int status, string error, string message, DateTimeOffset? retryAt = null)
    {
        var body = new Dictionary<string, object?> { ["error"] = error, ["message"] = message };
        if (retryAt is not { } at) return Results.Json(body, Options, statusCode: status);
        body["retryAt"] = at;
        return new WithHeader(Results.Json(body, Options, statusCode: status), "Retry-After", RetryAfter(at));
    }

    /// <summary>
    /// An account that cannot serve: 503 while it is degraded (it will serve again), else 409 (it needs a login, ...). An
    /// account that needs a login is named so (<c>NeedsLogin</c>, or <c>AwaitingAuthFactor</c> while an operator's login
    /// waits for its code), not by the PDS's error that ended its session
    /// (<c>ExpiredToken</c>, <c>InvalidToken</c>): a client would take that for its own token, refresh and log in again
    /// without end, when only an operator's login helps.
    /// </summary>
    public static IResult Unavailable(Supervisor.Actors.Protocol.AccountReplies.AccountUnavailable unavailable) => unavailable.State switch
    {
        Supervisor.Actors.Protocol.AccountStateName.Degraded => Error(503, unavailable.Error.Error,
            $"account {unavailable.Did} is {unavailable.State}: {unavailable.Error.Message}", unavailable.RetryNotBefore),
        Supervisor.Actors.Protocol.AccountStateName.NeedsLogin or Supervisor.Actors.Protocol.AccountStateName.AwaitingAuthFactor => Error(409, unavailable.State.ToString(),
            $"account {unavailable.Did} is {unavailable.State} (an operator must log it in again): {unavailable.Error.Error}: {unavailable.Error.Message}", unavailable.RetryNotBefore),
        _ => Error(409, unavailable.Error.Error, $"account {unavailable.Did} is {unavailable.State}: {unavailable.Error.Message}", unavailable.RetryNotBefore),
    };

    /// <summary>An account still moving to another node after every try within the request's time: 503, try again in a second.</summary>
    public static IResult Moving(Supervisor.Actors.Protocol.AccountReplies.AccountMoved moved) =>
        Error(503, "AccountMoving", $"account {moved.AccountId} is moving to another node", DateTimeOffset.UtcNow.AddSeconds(1));

    /// <summary>A <c>Retry-After</c> value: whole seconds until <paramref name="at"/>, at least 1.</summary>
    public static string RetryAfter(DateTimeOffset at) =>
        Math.Max(1, (long)Math.Ceiling((at - DateTimeOffset.UtcNow).TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The string property <paramref name="name"/> of a JSON object, or null (absent, not a string, not an object).</summary>
    public static string? Text(System.Text.Json.JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>An answer with one extra header.</summary>
    private sealed class WithHeader(IResult inner, string name, string value) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.Headers[name] = value;
            return inner.ExecuteAsync(context);
        }
    }
}
