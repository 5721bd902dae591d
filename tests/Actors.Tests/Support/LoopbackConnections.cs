using System.Globalization;

namespace Supervisor.Actors.Tests.Support;

/// <summary>Which process holds a TCP connection on loopback, read from /proc (Linux): a proxy's way to tell its callers apart.</summary>
public static class LoopbackConnections
{
    /// <summary>The id of the process whose socket has the local port <paramref name="port"/> on 127.0.0.1, or null.</summary>
    public static int? ProcessOf(int port)
    {
        var inode = SocketInode(port);
        if (inode is null) return null;
        var target = $"socket:[{inode}]";
        foreach (var process in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(process), out var pid)) continue;
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(process, "fd")))
                    if (new FileInfo(fd).LinkTarget == target) return pid;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // a process that went away or is not ours
            }
        }
        return null;
    }

    /// <summary>The inode of the IPv4 or IPv6 socket bound locally to <paramref name="port"/> (as in /proc/net/tcp*).</summary>
    private static string? SocketInode(int port)
    {
        var hexPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table)) continue;
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && fields[1].EndsWith(hexPort, StringComparison.Ordinal) && fields[9] != "0") return fields[9];
            }
        }
        return null;
    }
}
