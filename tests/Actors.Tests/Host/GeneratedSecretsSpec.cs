using System.Net;
using System.Net.Http.Headers;
using Supervisor.Actors.Tests.Support;

namespace Supervisor.Actors.Tests.Host;

/// <summary>
/// A host started without <c>SUPERVISOR_ADMIN_TOKEN</c> and <c>SUPERVISOR_OPERATOR_PASSWORD</c> generates both into
/// its data folder: 256 bits each, owner-only, two different secrets, neither taken at the other's door, kept across a
/// restart, and never printed; the CLI beside it finds the token in ./data and the host at SUPERVISOR_URL.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class GeneratedSecretsSpec : FakePdsHostSpec
{
    private static HttpClient Client(SupervisorProcess host, AuthenticationHeaderValue? authorization) =>
        new() { BaseAddress = host.Http.BaseAddress, DefaultRequestHeaders = { Authorization = authorization } };

    [Fact]
    public async Task The_generated_admin_token_and_operator_password_are_256_bits_owner_only_different_and_neither_opens_the_others_door()
    {
        await using var host = new SupervisorProcess(Folder.Folder, Folder.HostEnvironment());
        host.SetEnvironment("SUPERVISOR_ADMIN_TOKEN", null);
        host.SetEnvironment("SUPERVISOR_OPERATOR_PASSWORD", null);
        await host.StartAsync();

        var files = new[] { "admin-token", "operator-password" }.Select(name => Path.Combine(Folder.Folder, name)).ToList();
        var (admin, operatorPassword) = (File.ReadAllText(files[0]).Trim(), File.ReadAllText(files[1]).Trim());
        TestSecrets.Register("admin-token", admin);
        TestSecrets.Register("operator-password", operatorPassword);
        foreach (var file in files) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        // 32 random bytes each, as 64 hexadecimal digits. (Checked without printing either on a failure: the suite's
        // output must hold no secret.)
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(admin, "^[0-9a-f]{64}$"), "the admin token is not 64 hexadecimal digits");
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(operatorPassword, "^[0-9a-f]{64}$"), "the operator password is not 64 hexadecimal digits");
        Assert.False(admin == operatorPassword, "the operator password is the admin token");

        using (var asAdmin = Client(host, new AuthenticationHeaderValue("Bearer", admin)))
            Assert.Equal(HttpStatusCode.OK, (await asAdmin.GetAsync("/status")).StatusCode);
        using (var adminAsOperator = Client(host, BasicCredential.Of("operator", admin)))
            Assert.Equal(HttpStatusCode.Unauthorized, (await adminAsOperator.GetAsync("/")).StatusCode);
        foreach (var user in new[] { "operator", "", "any name at all" }) // any user name
            using (var asOperator = Client(host, BasicCredential.Of(user, operatorPassword)))
                Assert.Equal(HttpStatusCode.OK, (await asOperator.GetAsync("/")).StatusCode);
        using (var operatorAsAdmin = Client(host, new AuthenticationHeaderValue("Bearer", operatorPassword)))
            Assert.Equal(HttpStatusCode.Unauthorized, (await operatorAsAdmin.GetAsync("/status")).StatusCode);

        // Kept: a restart reads them again, it makes no new ones.
        await host.TerminateAsync();
        await host.StartAsync();
        Assert.True(files.Select(file => File.ReadAllText(file).Trim()).SequenceEqual([admin, operatorPassword]), "a restart made new secrets");
        using (var asAdmin = Client(host, new AuthenticationHeaderValue("Bearer", admin)))
            Assert.Equal(HttpStatusCode.OK, (await asAdmin.GetAsync("/status")).StatusCode);
        Assert.False(host.Output.Contains(admin, StringComparison.Ordinal), "the host printed its admin token");
        Assert.False(host.Output.Contains(operatorPassword, StringComparison.Ordinal), "the host printed its operator password");
    }

    [Fact]
    public async Task The_CLI_finds_the_host_at_SUPERVISOR_URL_and_the_generated_admin_token_in_the_data_folder_of_its_working_directory()
    {
        var data = Directory.CreateDirectory(Path.Combine(Folder.Folder, "data")).FullName;
        await using var host = new SupervisorProcess(data, Folder.HostEnvironment());
        host.SetEnvironment("SUPERVISOR_ADMIN_TOKEN", null);
        await host.StartAsync();
        TestSecrets.Register("admin-token", File.ReadAllText(Path.Combine(data, "admin-token")).Trim());

        // As an operator runs it beside the host, as the README's quick start does: no --host, no token, no data folder named.
        var environment = new Dictionary<string, string?>
        {
            ["SUPERVISOR_ADMIN_TOKEN"] = null, ["SUPERVISOR_DATA_DIR"] = null, ["SUPERVISOR_URL"] = host.Http.BaseAddress!.ToString(),
        };
        Task<(int ExitCode, string Output, string Error)> CliAsync(string workingDirectory) =>
            SupervisorProcess.RunCliAsync(workingDirectory, environment, "", "accounts", "list");

        var (exitCode, output, error) = await CliAsync(Folder.Folder);
        Assert.True(exitCode == 0, $"exit {exitCode}: {error}");
        Assert.Contains("\"accounts\": []", output);
        // Elsewhere there is no data/admin-token: the same command reaches the host and is refused.
        var elsewhere = Directory.CreateDirectory(Path.Combine(Folder.Folder, "elsewhere")).FullName;
        (exitCode, _, error) = await CliAsync(elsewhere);
        Assert.NotEqual(0, exitCode);
        Assert.Contains("401", error);
    }
}
