namespace Vivim.Libp2p.Core;

/// <summary>One multiaddr component: protocol code/name and its raw (binary) value.</summary>
public readonly record struct MultiaddrComponent(int Code, string Name, ReadOnlyMemory<byte> Value)
{
    public string ValueText => Multiaddr.ValueToText(Code, Value.Span);
}
