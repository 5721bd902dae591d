using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;

namespace Supervisor.Actors.Account;

/// <summary>The mailbox of every account actor: an <see cref="AccountMessageQueue"/> each.</summary>
public sealed class AccountMailbox : MailboxType, IProducesMessageQueue<AccountMessageQueue>
{
    /// <summary>The mailbox's id in the actor system's configuration (see <see cref="Configuration"/>).</summary>
    public const string Id = "supervisor.account-mailbox";

    /// <summary>Its configuration, added to an actor system as a fallback before any account starts.</summary>
    public static readonly Config Configuration = ConfigurationFactory.ParseString(
        $"{Id}.mailbox-type = \"{typeof(AccountMailbox).FullName}, {typeof(AccountMailbox).Assembly.GetName().Name}\"");

    /// <summary>Made by Akka from <see cref="Configuration"/>.</summary>
    public AccountMailbox(Settings settings, Config config) : base(settings, config)
    {
    }

    /// <inheritdoc />
    public override IMessageQueue Create(IActorRef owner, ActorSystem system) => new AccountMessageQueue();
}
