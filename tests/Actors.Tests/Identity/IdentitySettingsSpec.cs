using Akka.Configuration;
using Supervisor.Actors.Identity;

namespace Supervisor.Actors.Tests.Identity;

public sealed class IdentitySettingsSpec
{
    [Fact]
    public void Without_a_section_the_public_plc_directory_is_used_and_handles_are_resolved_on_their_own()
    {
        var settings = IdentitySettings.From(null);
        Assert.Equal("https://plc.directory", settings.PlcDirectory);
        Assert.Equal("", settings.HandleResolver);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.Timeout);
        Assert.Equal(TimeSpan.FromMinutes(5), settings.CacheTtl);
    }

    [Fact]
    public void The_settings_are_read_from_the_identity_section()
    {
        var config = ConfigurationFactory.ParseString("""
            supervisor.identity {
              plc-directory = "http://127.0.0.1:2782/"
              handle-resolver = "http://127.0.0.1:2783"
              timeout = 3s
              cache-ttl = 0s
              cache-size = 50
            }
            """);
        var settings = IdentitySettings.From(config.GetConfig("supervisor.identity"));
        Assert.Equal("http://127.0.0.1:2782", settings.PlcDirectory);
        Assert.Equal("http://127.0.0.1:2783", settings.HandleResolver);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.Timeout);
        Assert.Equal(TimeSpan.Zero, settings.CacheTtl);
        Assert.Equal(50, settings.CacheSize);
    }

    [Fact]
    public void The_shipped_configuration_names_every_key_with_its_default()
    {
        var shipped = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "supervisor.conf")));
        Assert.Equal(new IdentitySettings(), IdentitySettings.From(shipped.GetConfig("supervisor.identity")));
    }

    [Theory]
    [InlineData("plc-directory = \"plc.directory\"")]
    [InlineData("handle-resolver = \"ftp://resolver.example.com\"")]
    public void A_url_that_is_not_absolute_http_is_a_configuration_error(string line)
    {
        var config = ConfigurationFactory.ParseString(line);
        Assert.Throws<ConfigurationException>(() => IdentitySettings.From(config));
    }
}
