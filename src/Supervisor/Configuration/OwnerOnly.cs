using System.Runtime.InteropServices;

namespace Supervisor.Host.Configuration;

/// <summary>
/// Keeps the data folder private on Unix: the folder is 0700, and every file the process creates is
/// owner-only (umask 077), including the journal's <c>-wal</c> and <c>-shm</c> files that SQLite creates itself.
/// </summary>
public static class OwnerOnly
{
    private const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Sets the process umask to 077 (Linux and macOS; nothing elsewhere); returns the previous one.</summary>
    public static int RestrictUmask() => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? (int)umask(0b000_111_111) : 0;

    /// <summary>Creates <paramref name="dir"/> as 0700, or tightens an existing one to 0700.</summary>
    public static void CreateFolder(string dir)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
            return;
        }
        Directory.CreateDirectory(dir, Folder);
        Tighten(dir, Folder);
    }

    /// <summary>Makes <paramref name="file"/> 0600 when it exists.</summary>
    public static void TightenFile(string file)
    {
        if (!OperatingSystem.IsWindows() && System.IO.File.Exists(file)) Tighten(file, File);
    }

    private static void Tighten(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            if (System.IO.File.GetUnixFileMode(path) != mode) System.IO.File.SetUnixFileMode(path, mode);
        }
        catch (UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot make {path} owner-only: it belongs to another user");
        }
    }

    // DllImport rather than LibraryImport: the latter needs unsafe code enabled for the whole project.
    [DllImport("libc", EntryPoint = "umask")]
    private static extern uint umask(uint mask);
}
