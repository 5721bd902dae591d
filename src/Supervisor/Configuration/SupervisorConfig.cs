using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;
using Supervisor.Actors.Account;
using Supervisor.Actors.Limits;

namespace Supervisor.Host.Configuration;

/// <summary>The journals the supervisor can run on.</summary>
public enum JournalKind
{
    /// <summary>An embedded SQLite file in the data folder (the default).</summary>
    Sqlite,

    /// <summary>A PostgreSQL database (SUPERVISOR_POSTGRES holds the connection string).</summary>
    Postgres,
}

/// <summary>Builds the Akka configuration from the HOCON files in <c>hocon/</c> and the environment.</summary>
public static class SupervisorConfig
{
    /// <summary>The folder of the HOCON files shipped beside the executable.</summary>
    public static string HoconFolder => Path.Combine(AppContext.BaseDirectory, "hocon");

    /// <summary>
    /// The whole configuration: base settings, the journal's file, the journal's connection string and the
    /// token keys (base64, the first one current).
    /// <paramref name="overrides"/> (HOCON text) wins over everything.
    /// </summary>
    public static Config Load(JournalKind journal, string connectionString, IReadOnlyList<string> tokenKeys, string? overrides = null, string? cluster = null)
    {
        var journalFile = journal == JournalKind.Sqlite ? "sqlite.conf" : "postgres.conf";
        if (journal == JournalKind.Postgres) connectionString = PostgresJournalConnection(connectionString);
        var connection = $$"""
            akka.persistence.journal.sql.connection-string = {{Quote(connectionString)}}
            akka.persistence.snapshot-store.sql.connection-string = {{Quote(connectionString)}}
            supervisor.encryption.keys = [{{string.Join(", ", tokenKeys.Select(Quote))}}]
            """;
        return ConfigurationFactory.ParseString(overrides ?? "")
            .WithFallback(ConfigurationFactory.ParseString(cluster ?? ""))
            .WithFallback(ConfigurationFactory.ParseString(connection))
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(HoconFolder, journalFile))))
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(HoconFolder, "supervisor.conf"))));
    }

    /// <summary>
    /// Prepares an SQLite journal file and returns its connection string: the file is switched to WAL mode
    /// (kept in the file), so that the many small reads of account recoveries do not wait for each write.
    /// </summary>
    public static string PrepareSqliteJournal(string file)
    {
        var connection = $"Data Source={file};Pooling=true";
        using var sqlite = new SqliteConnection(connection);
        sqlite.Open();
        using var wal = sqlite.CreateCommand();
        wal.CommandText = "PRAGMA journal_mode=WAL;";
        wal.ExecuteNonQuery();
        return connection;
    }

    /// <summary>
    /// The PostgreSQL journal's connection string: <c>No Reset On Close</c> unless the given string sets it. Otherwise Npgsql
    /// sends <c>DISCARD ALL</c> ahead of the first statement each time it hands out a pooled connection, which is once per
    /// journal write (a quarter of the statements a refresh costs the server). Nothing on these connections leaves session
    /// state for it to reset: the journal plugin (linq2db) sets no session parameters, prepares no statements, creates no
    /// temporary tables, takes no advisory locks and listens to nothing; a transaction left open is still rolled back when a
    /// connection goes back to the pool.
    /// </summary>
    public static string PostgresJournalConnection(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Keys holds the keywords the string sets, by their canonical names.
        if (!builder.Keys.Contains("No Reset On Close", StringComparer.OrdinalIgnoreCase)) builder.NoResetOnClose = true;
        return builder.ConnectionString;
    }

    /// <summary>The account settings of a configuration.</summary>
    public static AccountSettings AccountSettingsOf(Config config) =>
        AccountSettings.From(config.GetConfig("supervisor.accounts")) with
        {
            LoginBudget = LoginBudgetSettings.From(config.GetConfig("supervisor.login-budget")),
            ServerLimits = ServerLimitSettings.From(config.GetConfig("supervisor.server-limits")),
        };

    private static string Quote(string text) => "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
