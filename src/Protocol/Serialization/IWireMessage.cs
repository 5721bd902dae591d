namespace Supervisor.Actors.Serialization;

/// <summary>
/// Marks a message that may cross the network between cluster nodes (to an account, the registry or a login
/// budget on another node, and their answers): written by <see cref="SupervisorSerializer"/> with a versioned
/// manifest, bound in hocon/supervisor.conf. The token pairs inside (a handover, an adoption) are sealed with the
/// cluster's shared token key; what a message carries for its receiver to use (a lent access token, an exported session,
/// a client's password or secret) is protected by the remoting's mutual TLS only, which every cluster requires.
/// </summary>
public interface IWireMessage;
