using System.Diagnostics;
using Akka.Actor;
using Supervisor.Actors.Events;

namespace Supervisor.Samples.ClusterMember;

/// <summary>Prints each session event as it arrives: kind, DID, state, and seconds since the subscription (never a token).</summary>
public sealed class EventPrinter : ReceiveActor
{
    /// <summary>Creates the printer; times are measured from its start.</summary>
    public EventPrinter(TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        Receive<SessionEvent>(e => output.WriteLine(
            $"event {e.Kind} {e.Did} {e.State}{(e.Error is null ? "" : " " + e.Error.Error)} after {clock.Elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)}s"));
    }

    /// <summary>Props for a printer writing to <paramref name="output"/>.</summary>
    public static Props Props(TextWriter output) => Akka.Actor.Props.Create(() => new EventPrinter(output));
}
