using Akka.Configuration;
using Supervisor.Host.Configuration;

namespace Supervisor.Actors.Tests.Support;

/// <summary>A fresh SQLite journal file per test, and the full supervisor configuration on top of it.</summary>
public sealed class TestJournal : IDisposable
{
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "supervisor-tests", Guid.NewGuid().ToString("N"));

    public TestJournal() => Directory.CreateDirectory(Folder);

    public string File => Path.Combine(Folder, "journal.db");

    /// <summary>The configuration an ActorSystem of a test runs with; <paramref name="overrides"/> wins.</summary>
    public Config Config(string? overrides = null) =>
        SupervisorConfig.Load(JournalKind.Sqlite, SupervisorConfig.SqliteConnection(File), $$"""
            akka.test.single-expect-default = 15s
            akka.loglevel = INFO
            supervisor.accounts.backoff-min = 200ms
            supervisor.accounts.backoff-max = 2s
            supervisor.accounts.request-timeout = 5s
            {{overrides}}
            """);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // a journal file still held open by a pool: left for the OS temp cleanup
        }
    }
}
