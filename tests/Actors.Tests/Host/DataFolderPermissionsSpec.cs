using System.Runtime.InteropServices;
using System.Net.Http.Json;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The data folder and what the host keeps in it are owner-only, even when the host starts under umask 022.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataFolderPermissionsSpec : FakePdsHostSpec
{
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [DllImport("libc", EntryPoint = "umask")]
    private static extern uint Umask(uint mask);

    [Fact]
    public async Task The_data_folder_is_0700_and_the_journal_and_the_remoting_certificate_0600_after_a_start_under_umask_022()
    {
        // The folder and journal as a start under umask 022 left them (TestJournal made both).
        File.SetUnixFileMode(Folder.Folder, OwnerOnlyFolder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(Folder.File, OwnerOnlyFile | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using var host = new SupervisorProcess(Folder.Folder, Folder.HostEnvironment());
        var previous = Umask(0b000_010_010);
        try
        {
            await host.StartAsync();
        }
        finally
        {
            Umask(previous);
        }
        await LoginOnceAsync(host);

        Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(Folder.Folder));
        var journal = Directory.EnumerateFiles(Folder.Folder, "journal.db*").ToList();
        Assert.Contains(Folder.File, journal);
        Assert.Contains(Folder.File + "-wal", journal);
        Assert.All(journal, f => Assert.Equal((f, OwnerOnlyFile), (f, File.GetUnixFileMode(f))));
        // The JSON log lives outside the data folder here: it is owner-only too (the umask is set before it is opened).
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(host.LogFile));
        // The remoting certificate (with its private key) it generated, and again when it finds it readable by others.
        var certificate = Path.Combine(Folder.Folder, "remoting.pfx");
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(certificate));
        Assert.Equal(0, await host.TerminateAsync());
        File.SetUnixFileMode(certificate, OwnerOnlyFile | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await host.StartAsync();
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(certificate));
        Assert.Equal(0, await host.TerminateAsync());
    }

    /// <summary>A login, so that the host writes to its journal (and SQLite makes its -wal file).</summary>
    private async Task LoginOnceAsync(SupervisorProcess host)
    {
        var account = Pds.CreateAccount("perm.test", "pw-perm");
        await LoginAsync(host, account);
    }
}
