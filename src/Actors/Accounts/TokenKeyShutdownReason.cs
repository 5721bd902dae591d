using Akka.Actor;

namespace Supervisor.Actors.Accounts;

/// <summary>The reason the host stopped: the token key cannot read the journal (the host exits with 1).</summary>
public sealed class TokenKeyShutdownReason(string message) : CoordinatedShutdown.Reason
{
    /// <summary>What is wrong with the key, naming the key ids, never a key or a token.</summary>
    public string Message { get; } = message;

    /// <inheritdoc />
    public override int ExitCode => 1;

    /// <inheritdoc />
    public override string ToString() => Message;
}
