namespace Vivim.Hosting;

/// <summary>
/// A port this host must listen on is taken by another process. The message is the one line an operator needs: the
/// port, what it is for, and the setting that moves it.
/// </summary>
public sealed class PortInUseException : Exception
{
    public PortInUseException(int port, string purpose, string setting, string example)
        : base($"Port {port} ({purpose}) is already in use by another process: start this node with {setting} {example}.")
    {
        Port = port;
        Setting = setting;
    }

    public PortInUseException()
    {
        Setting = string.Empty;
    }

    public PortInUseException(string message)
        : base(message)
    {
        Setting = string.Empty;
    }

    public PortInUseException(string message, Exception innerException)
        : base(message, innerException)
    {
        Setting = string.Empty;
    }

    public int Port { get; }

    /// <summary>The command-line flag that moves the port (e.g. <c>--Vivim:SiloPort</c>).</summary>
    public string Setting { get; }
}
