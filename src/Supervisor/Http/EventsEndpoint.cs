using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Supervisor.Actors.Accounts;
using Supervisor.Actors.Cluster;
using Supervisor.Actors.Events;
using Supervisor.Actors.Keys;
using Supervisor.Actors.Pds;
using Supervisor.Actors.Protocol;
using Supervisor.Host.Events;
using static Supervisor.Actors.Protocol.AccountCommands;
using static Supervisor.Actors.Protocol.AccountReplies;

namespace Supervisor.Host.Http;

/// <summary>
/// <c>GET /events</c>: the session events as server-sent events (README, "Session events over HTTP"). The admin sees
/// every account (<c>?account=</c> narrows to one), an account key its own; resumable with <c>Last-Event-ID</c>.
/// </summary>
public static class EventsEndpoint
{
    /// <summary>How often a comment line keeps an idle stream (and the proxies on its way) open.</summary>
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    /// <summary>The JSON of one event: never a token (the type has no place for one).</summary>
    private sealed record EventJson(string Did, string? Handle, SessionEventKind Kind, AccountStateName State, XrpcError? Error, DateTimeOffset At);

    /// <summary>Maps <c>GET /events</c>.</summary>
    public static void MapEvents(this WebApplication app, SessionEventFeed feed, TimeSpan askTimeout, ActorSystemEnd end)
    {
        app.MapGet("/events", async (HttpContext context, string? account, string? lastEventId, IRequiredActor<AccountsSupervisor> supervisor, AccountKeyIndex keys, IHostApplicationLifetime lifetime) =>
        {
            var caller = Caller.Of(context);
            string? did;
            switch (caller?.Kind)
            {
                case CallerKind.Admin:
                    did = null;
                    if (account is { Length: > 0 })
                    {
                        did = await ResolveAsync(supervisor.ActorRef, account, askTimeout, end.Token);
                        if (did is null)
                        {
                            await ApiJson.Error(404, "AccountNotFound", $"no account '{account}'").ExecuteAsync(context);
                            return;
                        }
                    }
                    break;
                case CallerKind.AccountKey:
                    did = caller.Key!.Did;
                    if (account is { Length: > 0 } && account != did && await ResolveAsync(supervisor.ActorRef, account, askTimeout, end.Token) != did)
                    {
                        await ApiJson.Error(403, "Forbidden", "an account key sees only its own account's events").ExecuteAsync(context);
                        return;
                    }
                    break;
                default:
                    await ApiJson.Error(403, "Forbidden", "the events are for the admin and account keys").ExecuteAsync(context);
                    return;
            }
            var resumeFrom = context.Request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } header ? header : lastEventId is { Length: > 0 } ? lastEventId : null;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
            using var subscription = feed.TrySubscribe(resumeFrom, did, caller.Key?.Id, out var refusal);
            if (subscription is null)
            {
                await ApiJson.Error(429, "TooManyStreams", refusal!).ExecuteAsync(context);
                return;
            }
            // A key's stream lasts as long as the key: revoked or expired, it ends at the next event or keep-alive.
            Func<bool> stillAllowed = caller.Key is { } key ? () => keys.Key(key.Id) is { } now && now.IsUsable(DateTimeOffset.UtcNow) : static () => true;
            await StreamAsync(context.Response, subscription, stillAllowed, stop.Token);
        });
    }

    /// <summary>The DID of an account named by DID or handle, or null when the supervisor has no such account.</summary>
    private static async Task<string?> ResolveAsync(IActorRef supervisor, string account, TimeSpan askTimeout, CancellationToken ended) =>
        await supervisor.AskAccountAsync(new GetAccountStatus(account), askTimeout, cancel: ended) is AccountStatus status ? status.Did : null;

    private static async Task StreamAsync(HttpResponse response, FeedSubscription subscription, Func<bool> stillAllowed, CancellationToken stop)
    {
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        try
        {
            if (subscription.MayHaveMissed)
                await WriteAsync(response, ": events may have been missed: the Last-Event-ID is of another start of the supervisor or older than its buffer; the buffer follows\n\n", stop);
            foreach (var e in subscription.Replay) await WriteAsync(response, Format(e), stop);
            await response.Body.FlushAsync(stop);

            using var timer = new PeriodicTimer(KeepAlive);
            var tick = timer.WaitForNextTickAsync(stop).AsTask();
            var waiting = subscription.Live.WaitToReadAsync(stop).AsTask();
            while (true)
            {
                var next = await Task.WhenAny(waiting, tick);
                if (!stillAllowed())
                {
                    await WriteAsync(response, ": disconnected: the account key was revoked or has expired\n\n", stop);
                    await response.Body.FlushAsync(stop);
                    return;
                }
                if (next == tick)
                {
                    await tick;
                    await WriteAsync(response, ": keep-alive\n\n", stop);
                    await response.Body.FlushAsync(stop);
                    tick = timer.WaitForNextTickAsync(stop).AsTask();
                    continue;
                }
                if (!await waiting) break;
                while (subscription.Live.TryRead(out var e)) await WriteAsync(response, Format(e), stop);
                await response.Body.FlushAsync(stop);
                waiting = subscription.Live.WaitToReadAsync(stop).AsTask();
            }
            if (subscription.Overflowed)
            {
                await WriteAsync(response, ": disconnected: this reader fell too far behind; reconnect with Last-Event-ID to resume\n\n", stop);
                await response.Body.FlushAsync(stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // the client went away, or the host stops
        }
        catch (IOException)
        {
            // the connection broke while writing
        }
    }

    /// <summary>One event as SSE: its id, its kind as the event name, one line of JSON and a blank line.</summary>
    public static string Format(FeedEvent e)
    {
        var ev = e.Event;
        if (ev.Session is not null) throw new InvalidOperationException("a session event with tokens reached the HTTP feed");
        var json = JsonSerializer.Serialize(new EventJson(ev.Did, ev.Handle, ev.Kind, ev.State, ev.Error, ev.At), ApiJson.Options);
        return $"id: {e.Id}\nevent: {ev.Kind}\ndata: {json}\n\n";
    }

    private static Task WriteAsync(HttpResponse response, string text, CancellationToken stop) =>
        response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), stop).AsTask();
}
