using Supervisor.Host.Configuration;

namespace Supervisor.Actors.Tests.Cluster;

/// <summary>
/// SUPERVISOR_CLUSTER_HOST, _PORT and _SEEDS: a node alone by default, several nodes only on PostgreSQL and with a
/// shared certificate (SUPERVISOR_CLUSTER_CERT).
/// </summary>
public sealed class ClusterSettingsSpec
{
    private static ClusterSettings Read(string? host, string? port, string? seeds)
    {
        string?[] saved = [Environment.GetEnvironmentVariable("SUPERVISOR_CLUSTER_HOST"), Environment.GetEnvironmentVariable("SUPERVISOR_CLUSTER_PORT"),
            Environment.GetEnvironmentVariable("SUPERVISOR_CLUSTER_SEEDS")];
        try
        {
            Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_HOST", host);
            Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_PORT", port);
            Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_SEEDS", seeds);
            return ClusterSettings.FromEnvironment();
        }
        finally
        {
            Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_HOST", saved[0]);
            Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_PORT", saved[1]);
            Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_SEEDS", saved[2]);
        }
    }

    [Fact]
    public void With_nothing_set_a_node_is_a_cluster_of_one_on_loopback_on_any_free_port()
    {
        var alone = Read(null, null, null);
        Assert.Equal(("127.0.0.1", 0), (alone.Host, alone.Port));
        Assert.Empty(alone.Seeds);
        alone.Check(JournalKind.Sqlite);
        Assert.Contains("akka.cluster.seed-nodes = []", alone.Hocon());
    }

    [Fact]
    public void Seeds_name_the_other_nodes_as_akka_tls_addresses_and_the_port_defaults_to_4053()
    {
        var node = Read("10.0.0.5", null, "node1:4053, node2:4054");
        Assert.Equal(4053, node.Port);
        Assert.Equal(["akka.ssl.tcp://supervisor@node1:4053", "akka.ssl.tcp://supervisor@node2:4054"], node.Seeds);
        Assert.Contains("hostname = \"10.0.0.5\"", node.Hocon());
        node.Check(JournalKind.Postgres);
    }

    [Fact]
    public void A_cluster_holds_its_nodes_at_Joining_until_a_majority_of_the_seeds_is_there()
    {
        Assert.Contains("akka.cluster.role.supervisor.min-nr-of-members = 2", Read(null, null, "node1:4053,node2:4053,node3:4053").Hocon());
        Assert.Contains("akka.cluster.role.supervisor.min-nr-of-members = 2", Read(null, null, "node1:4053,node2:4053").Hocon());
        Assert.Contains("akka.cluster.role.supervisor.min-nr-of-members = 3", Read(null, null, "n1:1,n2:1,n3:1,n4:1,n5:1").Hocon());
        Assert.Contains("akka.cluster.role.supervisor.min-nr-of-members = 1", Read(null, null, null).Hocon());
    }

    [Fact]
    public void Other_nodes_on_the_sqlite_journal_stop_the_start_with_a_clear_message()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => Read(null, "4053", "127.0.0.1:4054").Check(JournalKind.Sqlite));
        Assert.Contains("a cluster needs PostgreSQL", refused.Message);
    }

    [Fact]
    public void Seeds_without_a_cluster_certificate_stop_the_start_and_no_certificate_of_its_own_is_made()
    {
        var folder = Directory.CreateTempSubdirectory("supervisor-cert").FullName;
        var saved = Environment.GetEnvironmentVariable("SUPERVISOR_CLUSTER_CERT");
        try
        {
            Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_CERT", null);
            var refused = Assert.Throws<InvalidOperationException>(() => RemotingCertificate.Load(Read(null, null, "node1:4053"), folder));
            Assert.Contains("SUPERVISOR_CLUSTER_CERT is not set", refused.Message);
            Assert.False(File.Exists(RemotingCertificate.FileIn(folder)), "a node with seeds made a self-signed certificate of its own");

            // A node alone makes its own, in its data folder.
            using var alone = RemotingCertificate.Load(Read(null, null, null), folder);
            Assert.True(File.Exists(RemotingCertificate.FileIn(folder)));
        }
        finally
        {
            Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_CERT", saved);
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_cluster_certificate_with_a_password_is_read_with_SUPERVISOR_CLUSTER_CERT_PASSWORD_and_a_wrong_one_stops_the_start_without_saying_it()
    {
        var folder = Directory.CreateTempSubdirectory("supervisor-cert").FullName;
        var saved = (Environment.GetEnvironmentVariable("SUPERVISOR_CLUSTER_CERT"), Environment.GetEnvironmentVariable("SUPERVISOR_CLUSTER_CERT_PASSWORD"));
        try
        {
            var file = Path.Combine(folder, "cluster.pfx");
            var password = "pfx-" + Guid.NewGuid().ToString("N");
            RemotingCertificate.CreateSelfSigned(file, password);
            Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_CERT", file);

            Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_CERT_PASSWORD", password);
            using (var read = RemotingCertificate.Load(Read(null, null, "node1:4053"), folder))
                Assert.True(read.HasPrivateKey);
            Assert.False(File.Exists(RemotingCertificate.FileIn(folder)), "a certificate of its own was made beside the cluster's");

            foreach (var wrong in new[] { "wrong-" + password, null })
            {
                Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_CERT_PASSWORD", wrong);
                var refused = Assert.Throws<InvalidOperationException>(() => RemotingCertificate.Load(Read(null, null, "node1:4053"), folder));
                Assert.Contains("SUPERVISOR_CLUSTER_CERT could not be read as a PKCS#12 file with SUPERVISOR_CLUSTER_CERT_PASSWORD", refused.Message);
                Assert.False(refused.Message.Contains(password, StringComparison.Ordinal), "the message quotes the password");
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_CERT", saved.Item1);
            Environment.SetEnvironmentVariable("SUPERVISOR_CLUSTER_CERT_PASSWORD", saved.Item2);
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(null, "node1")]
    [InlineData(null, "node1:notaport")]
    [InlineData(null, "node1:4053\",evil")]
    [InlineData(null, "node1\"]\nakka.evil = \"x:4053")]
    [InlineData("70000", "")]
    public void A_malformed_port_or_seed_is_refused(string? port, string seeds) =>
        Assert.Throws<InvalidOperationException>(() => Read(null, port, seeds));
}
