using System.Data.Common;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using Supervisor.Host.Configuration;

namespace Supervisor.Actors.Tests.Support;

/// <summary>One row of the raw journal or snapshot table, payload as text.</summary>
public sealed record JournalRow(string PersistenceId, long SequenceNumber, string Manifest, string Payload);

/// <summary>Reads the raw tables that Akka.Persistence.Sql writes, bypassing Akka, on either database.</summary>
public static class JournalRows
{
    /// <summary>The journal rows of one persistence id, in order.</summary>
    public static List<JournalRow> Read(TestJournal journal, string persistenceId) =>
        Query(journal, "SELECT persistence_id, sequence_number, manifest, message FROM journal WHERE persistence_id = @id ORDER BY sequence_number", persistenceId);

    /// <summary>Every row of the journal and the snapshot tables.</summary>
    public static List<JournalRow> ReadEverything(TestJournal journal) =>
    [
        .. Query(journal, "SELECT persistence_id, sequence_number, manifest, message FROM journal", null),
        .. Query(journal, "SELECT persistence_id, sequence_number, manifest, snapshot FROM snapshot", null),
    ];

    /// <summary>Writes a raw journal row, as an older version of the code would have.</summary>
    public static void Insert(TestJournal journal, string persistenceId, long sequenceNumber, string manifest, string payload)
    {
        using var connection = Open(journal);
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) " +
                              "VALUES (@created, @deleted, @id, @seq, @message, @manifest, @identifier, @writer)";
        foreach (var (name, value) in new (string, object)[]
                 {
                     ("@created", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), ("@deleted", false), ("@id", persistenceId), ("@seq", sequenceNumber),
                     ("@message", Encoding.UTF8.GetBytes(payload)), ("@manifest", manifest), ("@identifier", Supervisor.Actors.Serialization.SupervisorSerializer.Id), ("@writer", "old-version"),
                 })
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
        command.ExecuteNonQuery();
    }

    /// <summary>Every string in a JSON payload that holds an encrypted token (<c>enc:...</c>), unescaped.</summary>
    public static IEnumerable<string> SealedValues(string payload)
    {
        var found = new List<string>();
        Walk(System.Text.Json.JsonDocument.Parse(payload).RootElement);
        return found;

        void Walk(System.Text.Json.JsonElement e)
        {
            switch (e.ValueKind)
            {
                case System.Text.Json.JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject()) Walk(p.Value);
                    break;
                case System.Text.Json.JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray()) Walk(item);
                    break;
                case System.Text.Json.JsonValueKind.String when e.GetString()!.StartsWith(Supervisor.Actors.Serialization.TokenCipher.Prefix, StringComparison.Ordinal):
                    found.Add(e.GetString()!);
                    break;
            }
        }
    }

    private static DbConnection Open(TestJournal journal)
    {
        DbConnection connection = journal.Kind == JournalKind.Sqlite
            ? new SqliteConnection($"Data Source={journal.File};Pooling=false")
            : new NpgsqlConnection(journal.ConnectionString);
        connection.Open();
        return connection;
    }

    private static List<JournalRow> Query(TestJournal journal, string sql, string? persistenceId)
    {
        using var connection = Open(journal);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (persistenceId is not null)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@id";
            parameter.Value = persistenceId;
            command.Parameters.Add(parameter);
        }
        using var reader = command.ExecuteReader();
        var rows = new List<JournalRow>();
        while (reader.Read())
            rows.Add(new JournalRow(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), Encoding.UTF8.GetString((byte[])reader[3])));
        return rows;
    }
}
