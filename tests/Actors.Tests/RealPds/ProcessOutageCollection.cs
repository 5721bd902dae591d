namespace Supervisor.Actors.Tests.RealPds;

/// <summary>
/// The specs that SIGKILL host processes or stop a PostgreSQL server, against the real PDS: run alone, after
/// every other collection (xunit runs collections without parallelization last, one at a time), so that
/// their load never skews the timing of the other specs on a small machine.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessOutageCollection : ICollectionFixture<RealPdsServer>
{
    public const string Name = "process kills and database outages";
}
