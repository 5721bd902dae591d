namespace Supervisor.Actors.Account;

/// <summary>How a session came to the supervisor.</summary>
public enum SessionOrigin
{
    /// <summary>createSession with a password.</summary>
    Login,

    /// <summary>createAccount.</summary>
    AccountCreated,

    /// <summary>An imported session string or SessionData.</summary>
    Import,
}
