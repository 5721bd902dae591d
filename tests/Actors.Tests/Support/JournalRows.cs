using System.Text;
using Microsoft.Data.Sqlite;

namespace Supervisor.Actors.Tests.Support;

/// <summary>One row of the raw SQLite journal table, payload as text.</summary>
public sealed record JournalRow(long SequenceNumber, string Manifest, string Payload);

/// <summary>Reads the raw journal table that Akka.Persistence.Sql writes, bypassing Akka.</summary>
public static class JournalRows
{
    public static List<JournalRow> Read(string file, string persistenceId)
    {
        using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sequence_number, manifest, message FROM journal WHERE persistence_id = $id ORDER BY sequence_number";
        command.Parameters.AddWithValue("$id", persistenceId);
        using var reader = command.ExecuteReader();
        var rows = new List<JournalRow>();
        while (reader.Read()) rows.Add(new JournalRow(reader.GetInt64(0), reader.GetString(1), Encoding.UTF8.GetString((byte[])reader[2])));
        return rows;
    }
}
