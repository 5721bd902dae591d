using System.Globalization;

namespace Supervisor.Bench;

/// <summary>
/// Bytes waiting in the kernel's TCP buffers (<c>/proc/net/tcp</c> and <c>tcp6</c>: send queue plus receive queue
/// of both ends) of the established connections to one local port: data in transit outside the processes.
/// </summary>
public static class SocketQueues
{
    /// <summary>The queued bytes of every established connection whose server end is <paramref name="port"/>.</summary>
    public static long Of(int port)
    {
        long total = 0;
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(file)) continue;
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 5 || fields[3] != "01") continue;
                if (Port(fields[1]) != port && Port(fields[2]) != port) continue;
                var queues = fields[4].Split(':');
                total += long.Parse(queues[0], NumberStyles.HexNumber) + long.Parse(queues[1], NumberStyles.HexNumber);
            }
        }
        return total;
    }

    private static int Port(string address) => int.Parse(address[(address.LastIndexOf(':') + 1)..], NumberStyles.HexNumber);
}
