using Supervisor.Host.Cli;

namespace Supervisor.Actors.Tests.Host;

/// <summary>The command line's own help, in-process.</summary>
public sealed class CliHelpSpec
{
    [Theory]
    [InlineData("--help")]
    [InlineData("run", "--help")]
    public async Task Help_describes_running_the_host_and_lists_every_command(params string[] args)
    {
        Assert.True(SupervisorCli.Handles(args));
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(0, await SupervisorCli.RunAsync(args, new StringReader(""), output, error));
        var text = output.ToString();
        if (args[0] == "run")
        {
            Assert.Contains("run the host", text);
            Assert.Contains("SUPERVISOR_DATA_DIR", text);
        }
        else
        {
            foreach (var command in new[] { "run", "accounts", "session" }) Assert.Contains(command, text);
        }
    }

    [Fact]
    public void Run_and_no_arguments_start_the_host_rather_than_the_command_line()
    {
        Assert.False(SupervisorCli.Handles([]));
        Assert.False(SupervisorCli.Handles(["run", "--urls", "http://127.0.0.1:5080"]));
        Assert.False(SupervisorCli.Handles(["--urls", "http://127.0.0.1:5080"]));
    }
}
