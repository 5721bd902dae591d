namespace Supervisor.Actors.Pds;

/// <summary>
/// A connection the <see cref="OutboundAddresses"/> policy refused: <paramref name="host"/> is (or resolves to) a non-public
/// address or one of the host's own. The message does not say which: it reaches the account's key holder, who should not learn the host's network.
/// </summary>
public sealed class OutboundAddressRefusedException(string host)
    : IOException($"{host} is (or resolves to) a non-public address, or one of this host's own, that supervisor.outbound.allow-networks does not list");
