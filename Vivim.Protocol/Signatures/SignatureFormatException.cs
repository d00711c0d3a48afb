namespace Vivim.Protocol.Signatures;

/// <summary>A signature or proof that is missing or not shaped as the rule requires (a wrong but well-formed one just fails to verify).</summary>
public sealed class SignatureFormatException(string message) : ProtocolException("invalid-signature-format", message);
