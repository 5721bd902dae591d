using System.Security.Cryptography;
using System.Text;

namespace Supervisor.Host.Http;

/// <summary>
/// Requires <c>Authorization: Bearer &lt;admin token&gt;</c> on every path but /healthz and /metrics,
/// compared in constant time.
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
        await ApiJson.Error(StatusCodes.Status401Unauthorized, "AuthenticationRequired", "a valid admin bearer token is required")
            .ExecuteAsync(context);
    }

    private bool Authorized(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, _expected);
    }
}
