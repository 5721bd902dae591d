using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Yarp.ReverseProxy.Transforms;

namespace Supervisor.Bench;

/// <summary>
/// A minimal reverse proxy with YARP's direct forwarding (<c>IHttpForwarder</c> through <c>MapForwarder</c>) on a
/// loopback port in the bench process: /xrpc/* goes to one server, with one bearer token set by a request transform.
/// The yardstick for the supervisor's own pass-through.
/// </summary>
public sealed class BenchYarp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly BenchHostWork? _work;

    private BenchYarp(WebApplication app, string url, BenchHostWork? work)
    {
        _app = app;
        Url = url;
        _work = work;
    }

    /// <summary>The proxy's base address.</summary>
    public string Url { get; }

    /// <summary>
    /// Starts a proxy to <paramref name="destination"/> that sends <paramref name="accessToken"/> as the bearer; with
    /// <paramref name="callerToken"/>, one that also does the host's per-request work (<see cref="BenchHostWork"/>) and
    /// serves only callers with that bearer.
    /// </summary>
    public static async Task<BenchYarp> StartAsync(string destination, string accessToken, string? callerToken = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddHttpForwarder();
        var work = callerToken is null ? null : BenchHostWork.Add(builder, accessToken, callerToken);
        var app = builder.Build();
        work?.Use(app);
        var bearer = new AuthenticationHeaderValue("Bearer", accessToken);
        app.MapForwarder("/xrpc/{**rest}", destination, transforms =>
        {
            if (work is null)
            {
                transforms.AddRequestTransform(context =>
                {
                    context.ProxyRequest.Headers.Authorization = bearer;
                    return ValueTask.CompletedTask;
                });
                return;
            }
            transforms.AddRequestTransform(async context => context.ProxyRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await work.BorrowAsync()));
            transforms.AddResponseTransform(_ =>
            {
                work.GiveBack();
                return ValueTask.CompletedTask;
            });
        });
        // What the process allocated and how many thread-pool work items it ran so far, as the supervisor's host exports them
        // (GC.GetTotalAllocatedBytes, ThreadPool.CompletedWorkItemCount): read between rounds, not on the path measured.
        app.MapGet("/bench/runtime", () => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{GC.GetTotalAllocatedBytes()} {ThreadPool.CompletedWorkItemCount} {GC.GetTotalPauseDuration().TotalSeconds}"));
        await app.StartAsync();
        return new BenchYarp(app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First(), work);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_work is not null) await _work.DisposeAsync();
    }
}
