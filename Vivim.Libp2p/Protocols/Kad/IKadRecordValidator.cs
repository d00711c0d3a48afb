using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Kad;

/// <summary>Validates and orders values of one key namespace (like js-libp2p's validators/selectors).</summary>
public interface IKadRecordValidator
{
    /// <summary>Throws <see cref="MalformedDataException"/> when the value is not valid for the key.</summary>
    void Validate(byte[] key, byte[] value);

    /// <summary>Index of the best of (already valid) values.</summary>
    int Select(byte[] key, IReadOnlyList<byte[]> values);
}
