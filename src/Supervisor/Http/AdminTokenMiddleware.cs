using System.Security.Cryptography;
using System.Text;

namespace Supervisor.Host.Http;

/// <summary>
/// Requires the admin token on every path but /healthz and /metrics, compared in constant time: as
/// <c>Authorization: Bearer &lt;token&gt;</c>, or for browsers on the status page as the password of HTTP
/// Basic authentication (any user name), which the 401 answer asks for.
/// </summary>
public sealed class AdminTokenMiddleware(RequestDelegate next, string adminToken)
{
    private readonly byte[] _expected = SHA256.HashData(Encoding.UTF8.GetBytes(adminToken));

    /// <summary>Checks the token, then passes the request on.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/healthz") || path.StartsWithSegments("/metrics") || Authorized(context))
        {
            await next(context);
            return;
        }
        context.Response.Headers.WWWAuthenticate = "Basic realm=\"session supervisor\", charset=\"UTF-8\"";
        await ApiJson.Error(StatusCodes.Status401Unauthorized, "AuthenticationRequired", "a valid admin bearer token is required")
            .ExecuteAsync(context);
    }

    private bool Authorized(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        string? token = null;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = header["Bearer ".Length..].Trim();
        }
        else if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
                token = pair[(pair.IndexOf(':') + 1)..];
            }
            catch (FormatException)
            {
                return false;
            }
        }
        return token is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), _expected);
    }
}
