using Supervisor.Actors.Pds;

namespace Supervisor.Host.Http;

/// <summary>Hands a PDS's answer to the HTTP caller as it came: status, content type and body.</summary>
public sealed class UpstreamResult(XrpcResponse answer) : IResult
{
    /// <inheritdoc />
    public async Task ExecuteAsync(HttpContext context)
    {
        context.Response.StatusCode = answer.Status;
        if (answer.ContentType is not null) context.Response.ContentType = answer.ContentType;
        if (answer.RateLimit is { } limit)
        {
            if (limit.Limit is { } l) context.Response.Headers["RateLimit-Limit"] = l.ToString();
            if (limit.Remaining is { } r) context.Response.Headers["RateLimit-Remaining"] = r.ToString();
            if (limit.Reset is { } reset) context.Response.Headers["RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString();
            if (limit.Policy is { } p) context.Response.Headers["RateLimit-Policy"] = p;
            if (answer.Status == 429 && limit.Reset is { } retryAt)
                context.Response.Headers["Retry-After"] = ApiJson.RetryAfter(retryAt);
        }
        await context.Response.Body.WriteAsync(answer.Body);
    }
}
