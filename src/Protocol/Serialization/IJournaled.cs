namespace Supervisor.Actors.Serialization;

/// <summary>
/// Marks a type written by <see cref="SupervisorSerializer"/> (journal events, snapshots, published
/// events): bound to it in hocon/supervisor.conf under akka.actor.serialization-bindings.
/// </summary>
public interface IJournaled;
