namespace Supervisor.Samples.ExternalClient;

/// <summary>The name and secret of a client the nodes trust with tokens; ToString never shows the secret.</summary>
public sealed record TrustedClient(string Name, string Secret)
{
    /// <inheritdoc />
    public override string ToString() => $"TrustedClient {{ Name = {Name} }}";
}
