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

    /// <summary>The longest error name kept from a server's answer (longer ones are cut).</summary>
    public const int LongestName = 128;

    /// <summary>
    /// The longest message kept from a server's answer: an error is logged, journaled (an ended session's), held in
    /// statuses and sent with events, so a server must not make it megabytes long.
    /// </summary>
    public const int LongestMessage = 1024;

    /// <summary>
    /// An error as a server (a PDS, an identity host) wrote it, cut to <see cref="LongestName"/> and
    /// <see cref="LongestMessage"/> characters, its control characters (line breaks included) made spaces.
    /// </summary>
    public static XrpcError FromServer(string error, string message) => new(Bounded(error, LongestName), Bounded(message, LongestMessage));

    private static string Bounded(string text, int longest) => text.Length > longest
        ? Printable(text[..(char.IsHighSurrogate(text[longest - 1]) ? longest - 1 : longest)]) + "…"
        : Printable(text);

    /// <summary><paramref name="text"/> as a server's error shows it: its control characters (line breaks included) made spaces.</summary>
    internal static string Printable(string text) => !text.Any(char.IsControl) ? text
        : string.Create(text.Length, text, static (span, text) =>
        {
            for (var i = 0; i < text.Length; i++) span[i] = char.IsControl(text[i]) ? ' ' : text[i];
        });
}
