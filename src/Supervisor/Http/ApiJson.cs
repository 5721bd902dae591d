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

    /// <summary>A <c>Retry-After</c> value: whole seconds until <paramref name="at"/>, at least 1.</summary>
    public static string RetryAfter(DateTimeOffset at) =>
        Math.Max(1, (long)Math.Ceiling((at - DateTimeOffset.UtcNow).TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);

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
