using System.Net;

namespace Supervisor.Actors.Tests.Support;

/// <summary>
/// Waiting for a host process to serve accounts. /healthz answers as soon as the host listens, while the
/// supervisor may still be reading the account registry (on a fresh PostgreSQL database, creating the tables
/// can take many seconds on a busy machine): requests meanwhile wait, and may time out (504).
/// </summary>
public static class HostReadiness
{
    /// <summary>Polls <c>GET /accounts</c> until it answers 200: the registry is read and accounts are served.</summary>
    public static async Task WaitUntilAccountsServeAsync(this SupervisorProcess host, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
        while (DateTime.UtcNow < until)
        {
            using var answer = await host.Http.GetAsync("/accounts");
            if (answer.StatusCode == HttpStatusCode.OK) return;
            await Task.Delay(200);
        }
        Assert.Fail($"the host did not serve GET /accounts within {(timeout ?? TimeSpan.FromSeconds(90)).TotalSeconds} s");
    }
}
