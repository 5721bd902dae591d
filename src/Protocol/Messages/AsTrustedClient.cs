namespace Supervisor.Actors.Protocol;

/// <summary>
/// A protocol message sent by a trusted actor system outside the cluster (through ClusterClient, to <c>/user/clients</c>):
/// <see cref="Client"/> names the client and <see cref="Secret"/> proves it, against the SHA-256 digests the nodes are
/// configured with (<c>SUPERVISOR_TRUSTED_CLIENTS</c>). A trusted client is served what reveals tokens and is refused to
/// every other client: <see cref="AccountCommands.ExportSession"/>, <see cref="AccountCommands.BorrowAccessToken"/> and
/// its return, and <see cref="AccountCommands.SubscribeSessionEvents"/> with tokens (the events then come as
/// <see cref="Events.TrustedSessionEvent"/>). The secret travels inside the cluster's mutual TLS only; ToString never
/// shows it.
/// </summary>
public sealed record AsTrustedClient(string Client, string Secret, Serialization.IWireMessage Message) : Serialization.IWireMessage
{
    /// <inheritdoc />
    public override string ToString() => $"AsTrustedClient {{ Client = {Client}, Message = {Message} }}";
}
