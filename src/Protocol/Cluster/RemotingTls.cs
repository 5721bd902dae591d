using System.Security.Cryptography.X509Certificates;
using Akka.Remote.Transport.DotNetty;

namespace Supervisor.Actors.Cluster;

/// <summary>
/// How every system of the cluster (node, ClusterClient, client member) sets up Akka remoting: TLS with mutual
/// authentication, presenting the cluster's certificate and admitting only peers that present the same one (pinned by
/// thumbprint, no chain: the certificate is the cluster's own, usually self-signed).
/// </summary>
public static class RemotingTls
{
    /// <summary>The remoting setup of a system holding <paramref name="certificate"/> (with its private key).</summary>
    public static DotNettySslSetup Setup(X509Certificate2 certificate) =>
        new(certificate, suppressValidation: false, requireMutualAuthentication: true, CertificateValidation.PinnedCertificate(certificate.Thumbprint));
}
