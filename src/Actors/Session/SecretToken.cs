namespace Supervisor.Actors.Session;

/// <summary>A token kept on its own (a refresh token waiting for deleteSession). Its ToString never shows it.</summary>
public sealed record SecretToken(string Value)
{
    /// <inheritdoc />
    public override string ToString() => "SecretToken { *** }";
}
