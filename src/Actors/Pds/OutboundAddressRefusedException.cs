using System.Net;

namespace Supervisor.Actors.Pds;

/// <summary>A connection the <see cref="OutboundAddresses"/> policy refused: <paramref name="host"/> is (or resolves to) a non-public address.</summary>
public sealed class OutboundAddressRefusedException(string host, IPAddress? address)
    : IOException(address is null
        ? $"{host} resolves to no address"
        : $"{host} is at {address}, a non-public address that supervisor.outbound.allow-networks does not list");
