using Supervisor.Actors.Limits;
using Supervisor.Actors.Pds;

namespace Supervisor.Actors.Clients;

/// <summary>
/// What a node needs to send a client's XRPC call to the PDS itself: the wire client, the servers' rate limits, the
/// longest a PDS call (and a refresh holding a borrow) may take, the longest a client's call may take in all, and the
/// session methods it refuses to pass on (the supervisor owns each account's session), as the HTTP API does, and the
/// privileged methods (they mint credentials or end the account) that only a trusted client may call, as only a key
/// issued with them may over HTTP, and the most calls one account may have in flight (<c>supervisor.proxy.max-in-flight</c>,
/// as over HTTP: each holds a request's and an answer's body for up to request-timeout).
/// </summary>
public sealed record PdsCalls(PdsClient Client, ServerLimits Limits, TimeSpan RequestTimeout, TimeSpan AskTimeout, IReadOnlySet<string> SessionMethods,
    IReadOnlySet<string> PrivilegedMethods, int MaxInFlight = 64);
