namespace Supervisor.Actors.Session;

/// <summary>
/// A session string, SessionData JSON or token that cannot be used. The message says what is wrong and
/// never contains a token.
/// </summary>
public sealed class SessionFormatException(string message) : Exception(message);
