using System.Diagnostics;
using Supervisor.Actors.Account;

namespace Supervisor.Actors.Pds;

/// <summary>
/// Times every call that leaves through the PDS client's <see cref="HttpClient"/> (calls by message, session calls,
/// and the host's streamed pass-through, which shares it): from sending to the answer's headers, by server (host:port)
/// and status code, into <see cref="SupervisorMetrics"/>. Bodies streamed afterwards are not part of the time.
/// </summary>
public sealed class PdsCallTiming(SupervisorMetrics metrics) : DelegatingHandler
{
    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var server = request.RequestUri is { IsAbsoluteUri: true } uri ? $"{uri.Host}:{uri.Port}" : "unknown";
        HttpResponseMessage answer;
        try
        {
            answer = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            metrics.PdsCallAnswered(server, null, Stopwatch.GetElapsedTime(started));
            throw;
        }
        metrics.PdsCallAnswered(server, (int)answer.StatusCode, Stopwatch.GetElapsedTime(started));
        return answer;
    }
}
