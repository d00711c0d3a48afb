namespace Vivim.Keys;

/// <summary>A 32-byte Ed25519 seed in transit inside the cluster. Redacted from every string form so it cannot reach a log.</summary>
[GenerateSerializer, Immutable, Alias("vivim.SecretSeed")]
public sealed record SecretSeed([property: Id(0)] byte[] Bytes)
{
    public override string ToString() => "SecretSeed { *** }";
}
