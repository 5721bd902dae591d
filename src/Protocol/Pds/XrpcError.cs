namespace Supervisor.Actors.Pds;

/// <summary>
/// An XRPC error: the PDS's own <c>{"error","message"}</c> body, or one the client names when no usable
/// answer came (<see cref="NetworkError"/>, <see cref="Timeout"/>, <see cref="InvalidResponse"/>).
/// </summary>
public sealed record XrpcError(string Error, string Message)
{
    /// <summary>The connection failed or was dropped before an answer came.</summary>
    public const string NetworkError = "NetworkError";

    /// <summary>No answer within the configured request timeout.</summary>
    public const string Timeout = "Timeout";

    /// <summary>An answer that is not the JSON the method promises (HTML, truncated JSON, a wrong shape).</summary>
    public const string InvalidResponse = "InvalidResponse";

    /// <summary>A call the supervisor cannot send as described (a malformed content type).</summary>
    public const string InvalidRequest = "InvalidRequest";
}
