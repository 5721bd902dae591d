using System.Text.Json;
using Supervisor.Actors.Tests.Support;
using Supervisor.Host.Cli;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// <c>accounts list</c> of the command line, run as a process against a host and the fake PDS: a page of at most
/// <c>--limit</c> statuses by DID, filtered, and on standard error the command for the next page, with the same filters.
/// </summary>
public sealed class CliListingSpec : FakePdsHostSpec
{
    private static (List<string> Dids, string? Next) Page((int ExitCode, string Output, string Error) run)
    {
        Assert.True(run.ExitCode == 0, run.Error);
        var dids = JsonDocument.Parse(run.Output).RootElement.GetProperty("accounts").EnumerateArray().Select(a => a.GetProperty("did").GetString()!).ToList();
        var hint = run.Error.Split('\n').SingleOrDefault(line => line.StartsWith("more accounts: ", StringComparison.Ordinal));
        return (dids, hint?["more accounts: ".Length..].TrimEnd());
    }

    [Fact]
    public async Task A_listing_is_paged_by_limit_and_the_next_pages_command_keeps_the_filters()
    {
        await using var host = await StartHostAsync();
        var listed = new List<string>();
        foreach (var handle in new[] { "list-a.test", "list-b.test", "list-c.test" }) listed.Add((await LoggedInAsync(host, handle)).Did);
        await LoggedInAsync(host, "other.test");
        listed.Sort(StringComparer.Ordinal);

        var (first, next) = Page(await host.RunCliAsync("", "accounts", "list", "--query", "list-", "--limit", "2"));
        Assert.Equal(listed[..2], first);
        Assert.NotNull(next);
        Assert.Matches("^accounts list --query list- --limit 2 --cursor [^ ]+$", next);

        // The command as printed (its words hold nothing a shell would change): the last of the three, and no next page.
        var (second, after) = Page(await host.RunCliAsync("", next.Split(' ')));
        Assert.Equal(listed[2..], second);
        Assert.Null(after);

        // Without a limit, a page is 100: all four, and no next page.
        var (all, none) = Page(await host.RunCliAsync("", "accounts", "list"));
        Assert.Equal(4, all.Count);
        Assert.Null(none);
    }

    [Fact]
    public void A_word_of_the_next_pages_command_is_quoted_for_a_shell_when_it_holds_more_than_safe_characters()
    {
        Assert.Equal("bsky.social", SupervisorCli.ShellWord("bsky.social"));
        Assert.Equal("ZGlkOnBsYzp4eXo=", SupervisorCli.ShellWord("ZGlkOnBsYzp4eXo="));
        Assert.Equal("'two words'", SupervisorCli.ShellWord("two words"));
        Assert.Equal(@"'it'\''s;$(x)'", SupervisorCli.ShellWord("it's;$(x)"));
        Assert.Equal("''", SupervisorCli.ShellWord(""));
    }
}
