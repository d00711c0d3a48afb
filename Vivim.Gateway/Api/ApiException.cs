namespace Vivim.Gateway.Api;

/// <summary>A request the gateway refuses itself, answered as a problem with <see cref="Status"/> and <see cref="Code"/>.</summary>
public sealed class ApiException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;
}
