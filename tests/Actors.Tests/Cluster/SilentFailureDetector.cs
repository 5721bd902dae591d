using Akka.Configuration;
using Akka.Event;
using Akka.Remote;

namespace Supervisor.Actors.Tests.Cluster;

/// <summary>
/// A cluster failure detector that says, while <see cref="Silent"/>, that nothing has been heard from any member (as
/// after a pause of the process longer than any acceptable heartbeat pause), and otherwise that every member is heard.
/// Loaded by name from <c>akka.cluster.failure-detector.implementation-class</c>.
/// </summary>
public sealed class SilentFailureDetector : FailureDetector
{
    /// <summary>The constructor the loader calls; the detector needs neither its configuration nor the event stream.</summary>
    public SilentFailureDetector(Config config, EventStream eventStream)
    {
    }

    /// <summary>Whether every member's heartbeats are missing; one switch for every node configured with this detector.</summary>
    public static volatile bool Silent;

    private volatile bool _monitoring;

    /// <inheritdoc />
    public override bool IsAvailable => !Silent;

    /// <inheritdoc />
    public override bool IsMonitoring => _monitoring;

    /// <inheritdoc />
    public override void HeartBeat() => _monitoring = true;
}
