namespace Vivim.Libp2p.Protocols.Kad;

public sealed class KadOptions
{
    /// <summary>Server mode: answer /ipfs/kad/1.0.0 and advertise it in identify (only servers enter routing tables).</summary>
    public bool ServerMode { get; init; } = true;
    public int K { get; init; } = 20;
    /// <summary>Lookup concurrency (spec default 10; we use 3 like the Kademlia paper by default).</summary>
    public int Alpha { get; init; } = 3;
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Inbound streams idle longer than this are closed (js uses 10 s).</summary>
    public TimeSpan InboundIdleTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Requests served per inbound stream before it is closed.</summary>
    public int MaxRequestsPerStream { get; init; } = 64;
    /// <summary>Routing-table refresh: buckets not looked up for this long get a random lookup into them (spec: 10 min). Zero or negative: off.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>Buckets beyond this common-prefix length are not refreshed (finding a key for them costs 2^cpl hashes; go uses 15).</summary>
    public int MaxRefreshCpl { get; init; } = 15;
    /// <summary>How long provider records are kept (spec: 48 h).</summary>
    public TimeSpan ProviderValidity { get; init; } = TimeSpan.FromHours(48);
    /// <summary>Provider records kept at most (keys, ours and other peers'); beyond it new keys are refused.</summary>
    public int MaxProviderKeys { get; init; } = 100_000;
    /// <summary>Our own provider records are re-announced this often (spec: 22 h). Zero or negative: off.</summary>
    public TimeSpan ProviderRepublishInterval { get; init; } = TimeSpan.FromHours(22);
    /// <summary>A full bucket pings its least-recently-seen peer this long before keeping it over a newcomer.</summary>
    public TimeSpan LivenessTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Value-record validators by key namespace ("/ns/..." → "ns"). PUT_VALUE/GET_VALUE for other namespaces are refused.</summary>
    public Dictionary<string, IKadRecordValidator> Validators { get; init; } = [];
}
