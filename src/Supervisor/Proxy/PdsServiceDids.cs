using Supervisor.Actors.Identity;
using Supervisor.Actors.Pds;

namespace Supervisor.Host.Proxy;

/// <summary>
/// The service DID of each PDS (the <c>did</c> of its <c>com.atproto.server.describeServer</c>: what it signs service
/// tokens' audience against), learnt when first needed and kept for an hour. A PDS that does not answer with a valid DID
/// is asked again at the next need, at most every ten seconds. Requests that need it at once wait for one question.
/// </summary>
public sealed class PdsServiceDids(PdsClient client)
{
    /// <summary>How long a learnt DID is kept.</summary>
    public static readonly TimeSpan KeptFor = TimeSpan.FromHours(1);

    /// <summary>How long a PDS that gave none is not asked again.</summary>
    public static readonly TimeSpan FailureKeptFor = TimeSpan.FromSeconds(10);

    /// <summary>The most PDSes kept; past it the whole table is started again (the accounts' PDSes are few).</summary>
    public const int MaxKept = 4096;

    private readonly SharedLookups<(string? Did, XrpcError? Failure)> _learnt = new(MaxKept);

    /// <summary>
    /// The service DID of the PDS at <paramref name="pds"/>, or why there is none: the PDS could not be reached in time
    /// (<see cref="XrpcError.Timeout"/>, <see cref="XrpcError.NetworkError"/>: asked again next time), or it answered
    /// without one (<see cref="XrpcError.InvalidResponse"/>: not asked again for ten seconds).
    /// </summary>
    public Task<(string? Did, XrpcError? Failure)> OfAsync(string pds, CancellationToken ct) => _learnt.GetAsync(pds, async () =>
    {
        // The client's own timeout ends it, not one request's cancellation: others may be waiting for it.
        var answer = await client.SendAsync(pds, XrpcRequest.Query("com.atproto.server.describeServer"), null, CancellationToken.None);
        if (answer.IsTransportFailure) return ((null, answer.Error), TimeSpan.Zero);
        return ReadDid(answer) is { } did ? ((did, null), KeptFor) : ((null, NoDid), FailureKeptFor);
    }, ct);

    private static readonly XrpcError NoDid = new(XrpcError.InvalidResponse,
        "the PDS did not name its service DID (describeServer), which a service token for it needs as audience");

    private static string? ReadDid(XrpcResponse answer) =>
        answer.IsSuccess && answer.TryReadString("did") is { } did && DidSyntax.IsValid(did) ? did : null;
}
