using System.Diagnostics;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Cluster;

/// <summary>
/// docker-compose.yml, read by Debian's docker-compose (no engine needed: <c>config</c> resolves and validates the file):
/// PostgreSQL and three supervisor nodes that form one cluster, each with its own HTTP port.
/// </summary>
public sealed class DockerComposeSpec
{
    private static async Task<(int Exit, string Output)> ConfigAsync(Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("docker-compose")
        {
            ArgumentList = { "-f", Path.Combine(BrowserScript.RepositoryRoot, "docker-compose.yml"), "config" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = BrowserScript.RepositoryRoot,
        };
        start.Environment.Remove("SUPERVISOR_ADMIN_TOKEN");
        start.Environment.Remove("SUPERVISOR_KEY");
        start.Environment.Remove("SUPERVISOR_CLUSTER_CERT_FILE");
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("docker-compose did not start (scripts/test installs it)");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await errors);
    }

    [Fact]
    public async Task The_compose_file_runs_postgres_and_three_nodes_of_one_cluster_each_with_its_own_port()
    {
        var (exit, output) = await ConfigAsync(new()
        {
            ["SUPERVISOR_ADMIN_TOKEN"] = "compose-admin", ["SUPERVISOR_KEY"] = "compose-key", ["SUPERVISOR_CLUSTER_CERT_FILE"] = "/etc/supervisor/cluster.pfx",
        });
        Assert.True(exit == 0, output);
        Assert.Equal(3, output.Split("/etc/supervisor/cluster.pfx:/run/supervisor/cluster.pfx:ro").Length - 1);
        Assert.Equal(3, output.Split("SUPERVISOR_CLUSTER_CERT: /run/supervisor/cluster.pfx").Length - 1);
        Assert.Contains("postgres:", output);
        foreach (var (node, port) in new[] { ("node1", 5081), ("node2", 5082), ("node3", 5083) })
        {
            Assert.Contains($"  {node}:", output);
            Assert.Contains($"SUPERVISOR_CLUSTER_HOST: {node}", output);
            Assert.Contains($"127.0.0.1:{port}:5080", output);
        }
        Assert.Equal(3, output.Split("SUPERVISOR_CLUSTER_SEEDS: node1:4053,node2:4053,node3:4053").Length - 1);
        Assert.Equal(3, output.Split("SUPERVISOR_JOURNAL: postgres").Length - 1);
        // A node the cluster downed exits with 3 and is started again.
        Assert.Equal(3, output.Split("restart: on-failure").Length - 1);
    }

    [Fact]
    public async Task The_compose_file_refuses_to_start_without_the_shared_key_admin_token_and_remoting_certificate()
    {
        var (exit, output) = await ConfigAsync(new() { ["SUPERVISOR_ADMIN_TOKEN"] = "compose-admin", ["SUPERVISOR_CLUSTER_CERT_FILE"] = "/etc/supervisor/cluster.pfx" });
        Assert.NotEqual(0, exit);
        Assert.Contains("set SUPERVISOR_KEY", output);
        (exit, output) = await ConfigAsync(new() { ["SUPERVISOR_ADMIN_TOKEN"] = "compose-admin", ["SUPERVISOR_KEY"] = "compose-key" });
        Assert.NotEqual(0, exit);
        Assert.Contains("set SUPERVISOR_CLUSTER_CERT_FILE", output);
    }
}
