namespace Supervisor.Actors.Serialization;

/// <summary>
/// Marks a message that may cross the network between cluster nodes (to an account, the registry or a login
/// budget on another node, and their answers): written by <see cref="SupervisorSerializer"/> with a versioned
/// manifest, bound in hocon/supervisor.conf. Tokens inside are encrypted with the cluster's shared token key.
/// </summary>
public interface IWireMessage;
