using Npgsql;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Configuration;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The connection string the PostgreSQL journal and snapshot store use.</summary>
public sealed class PostgresJournalConnectionSpec
{
    private const string Given = "Host=db.example;Port=5432;Username=supervisor;Password=not-a-real-password;Database=supervisor";

    private static NpgsqlConnectionStringBuilder Used(string given, string plugin) =>
        new(SupervisorConfig.Load(JournalKind.Postgres, given, [TestJournal.TestKey]).GetString($"akka.persistence.{plugin}.sql.connection-string"));

    [Theory]
    [InlineData("journal")]
    [InlineData("snapshot-store")]
    public void Pooled_connections_are_handed_out_without_a_DISCARD_ALL_before_their_first_statement(string plugin)
    {
        var used = Used(Given, plugin);
        Assert.True(used.NoResetOnClose);
        Assert.Equal("db.example", used.Host);
        Assert.Equal("not-a-real-password", used.Password);
    }

    [Fact]
    public void A_connection_string_that_asks_for_the_reset_keeps_it() =>
        Assert.False(Used(Given + ";No Reset On Close=false", "journal").NoResetOnClose);
}
