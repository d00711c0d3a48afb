namespace Vivim.Protocol.Model;

/// <summary>Clone permissions carried in TrustProofs.</summary>
public static class Permissions
{
    public const string Read = "read";
    public const string Write = "write";
}
