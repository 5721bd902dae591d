using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Supervisor.Host.Configuration;

/// <summary>
/// The certificate every node (and every actor system allowed to reach the nodes) presents over Akka remoting: remoting
/// runs TLS with mutual authentication, and a peer is admitted only if its certificate is this one (pinned by
/// thumbprint). Without it anyone who reaches a node's remoting port could send any message to the accounts, an
/// export of their tokens included. SUPERVISOR_CLUSTER_CERT names a PKCS#12 file (SUPERVISOR_CLUSTER_CERT_PASSWORD its
/// password), shared by the nodes of a cluster and required when there are several; a node alone creates its own in
/// the data folder (<c>remoting.pfx</c>, owner-only), so that only what can read the data folder can reach it.
/// </summary>
public static class RemotingCertificate
{
    /// <summary>The file a node alone keeps its certificate in.</summary>
    public static string FileIn(string dataDir) => Path.Combine(dataDir, "remoting.pfx");

    /// <summary>The node's remoting certificate, from SUPERVISOR_CLUSTER_CERT, or created in the data folder for a node alone.</summary>
    public static X509Certificate2 Load(ClusterSettings cluster, string dataDir)
    {
        if (Environment.GetEnvironmentVariable("SUPERVISOR_CLUSTER_CERT") is { Length: > 0 } path)
        {
            try
            {
                return X509CertificateLoader.LoadPkcs12FromFile(path, Environment.GetEnvironmentVariable("SUPERVISOR_CLUSTER_CERT_PASSWORD"));
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"SUPERVISOR_CLUSTER_CERT could not be read as a PKCS#12 file with SUPERVISOR_CLUSTER_CERT_PASSWORD ({e.GetType().Name})");
            }
        }
        if (cluster.Seeds.Count > 0)
            throw new InvalidOperationException(
                "SUPERVISOR_CLUSTER_SEEDS names other nodes, but SUPERVISOR_CLUSTER_CERT is not set: the nodes of a cluster admit each other " +
                "by a shared certificate (a PKCS#12 file; scripts/cluster cert makes one). Without it anyone reaching the remoting port could read every token.");
        var file = FileIn(dataDir);
        if (!File.Exists(file)) CreateSelfSigned(file);
        OwnerOnly.TightenFile(file);
        return X509CertificateLoader.LoadPkcs12FromFile(file, null);
    }

    /// <summary>Writes a new self-signed certificate with its private key to <paramref name="file"/> (PKCS#12, no password unless given).</summary>
    public static void CreateSelfSigned(string file, string? password = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=supervisor-remoting", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(20));
        File.WriteAllBytes(file, certificate.Export(X509ContentType.Pkcs12, password));
    }
}
