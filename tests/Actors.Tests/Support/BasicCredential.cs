using System.Net.Http.Headers;
using System.Text;

namespace Supervisor.Actors.Tests.Support;

/// <summary>HTTP Basic credentials as a request's Authorization header.</summary>
public static class BasicCredential
{
    /// <summary><paramref name="user"/> and <paramref name="password"/>, as <c>Basic base64(user:password)</c>.</summary>
    public static AuthenticationHeaderValue Of(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));
}
