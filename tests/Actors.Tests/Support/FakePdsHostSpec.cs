using Supervisor.Actors.Tests.FakePds;

namespace Supervisor.Actors.Tests.Support;

/// <summary>A spec of the host run as a process, against an in-process fake PDS, with a data folder of its own.</summary>
public abstract class FakePdsHostSpec : IAsyncLifetime
{
    /// <summary>The host's data folder (its SQLite journal is <see cref="TestJournal.File"/>).</summary>
    protected TestJournal Folder { get; } = new();

    protected FakePdsServer Pds { get; private set; } = null!;

    public async Task InitializeAsync() => Pds = await FakePdsServer.StartAsync();

    public async Task DisposeAsync()
    {
        await Pds.DisposeAsync();
        Folder.Dispose();
    }
}
