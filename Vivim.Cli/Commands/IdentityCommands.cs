using System.CommandLine;
using Spectre.Console;
using Vivim.Client.Identity;
using Vivim.Protocol.Identity;

namespace Vivim.Cli.Commands;

/// <summary><c>vivim identity create|show</c>: the local did:key that registers clones and signs their requests.</summary>
public static class IdentityCommands
{
    public static Command Create()
    {
        var identity = new Command("identity", "the local did:key identity (VIVIM_HOME/identity.key)");

        var force = new Option<bool>("--force") { Description = "replace an existing identity (its clones will no longer be reachable)" };
        var create = new Command("create", "create a new Ed25519 did:key identity") { force };
        CliRunner.SetAction(create, (parse, _) =>
        {
            var home = CliHome.FromEnvironment();
            if (!parse.GetValue(force) && File.Exists(home.IdentityPath))
            {
                throw new CliException($"an identity already exists in {home.IdentityPath} ('vivim identity show' prints it); pass --force to replace it (the clones it registered will no longer be reachable).");
            }

            using var key = SigningKey.Generate();
            KeyFile.Save(home.IdentityPath, key, overwrite: parse.GetValue(force));
            AnsiConsole.WriteLine(key.Did.Value);
            return Task.CompletedTask;
        });

        var show = new Command("show", "print the identity's DID and public key");
        CliRunner.SetAction(show, (_, _) =>
        {
            using var key = CliHome.FromEnvironment().LoadIdentity();
            AnsiConsole.WriteLine($"did        {key.Did.Value}");
            AnsiConsole.WriteLine($"publicKey  {key.PublicKeyHex}");
            return Task.CompletedTask;
        });

        identity.Subcommands.Add(create);
        identity.Subcommands.Add(show);
        return identity;
    }
}
