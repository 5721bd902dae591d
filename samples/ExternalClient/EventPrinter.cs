using System.Diagnostics;
using Akka.Actor;
using Supervisor.Actors.Events;

namespace Supervisor.Samples.ExternalClient;

/// <summary>
/// Prints each session event as it arrives: kind, DID, state, and seconds since the subscription; for a trusted client's
/// event with tokens, the subject of the access token it carries (never a token).
/// </summary>
public sealed class EventPrinter : ReceiveActor
{
    /// <summary>Creates the printer; times are measured from its start.</summary>
    public EventPrinter(TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        string After() => clock.Elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
        Receive<SessionEvent>(e => output.WriteLine($"event {e.Kind} {e.Did} {e.State}{(e.Error is null ? "" : " " + e.Error.Error)} after {After()}s"));
        Receive<TrustedSessionEvent>(t => output.WriteLine(
            $"event {t.Event.Kind} {t.Event.Did} {t.Event.State}{(t.AccessJwt is { } access ? " with tokens for " + SubjectOf(access) : "")} after {After()}s"));
    }

    /// <summary>The <c>sub</c> claim of a JWT (the account's DID), read without checking the signature: only to show whose token came.</summary>
    private static string SubjectOf(string jwt)
    {
        var payload = jwt.Split('.') is { Length: 3 } parts ? parts[1].Replace('-', '+').Replace('_', '/') : "";
        try
        {
            var json = Convert.FromBase64String(payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '='));
            using var claims = System.Text.Json.JsonDocument.Parse(json);
            return claims.RootElement.GetProperty("sub").GetString() ?? "?";
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return "a token that is not a JWT";
        }
    }

    /// <summary>Props for a printer writing to <paramref name="output"/>.</summary>
    public static Props Props(TextWriter output) => Akka.Actor.Props.Create(() => new EventPrinter(output));
}
