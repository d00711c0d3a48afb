namespace Vivim.Libp2p.Protocols.Pubsub;

/// <summary>Per-topic score parameters (P1–P4). Topics without an entry in <see cref="PeerScoreOptions.Topics"/> use <see cref="PeerScoreOptions.DefaultTopic"/>.</summary>
public sealed class TopicScoreParams
{
    public double TopicWeight { get; init; } = 1;
    /// <summary>P1: time in mesh, counted in units of <see cref="TimeInMeshQuantum"/>, capped.</summary>
    public double TimeInMeshWeight { get; init; } = 0.01;
    public TimeSpan TimeInMeshQuantum { get; init; } = TimeSpan.FromSeconds(1);
    public double TimeInMeshCap { get; init; } = 300;
    /// <summary>P2: first deliveries (decaying counter, capped).</summary>
    public double FirstMessageDeliveriesWeight { get; init; } = 1;
    public double FirstMessageDeliveriesDecay { get; init; } = 0.5;
    public double FirstMessageDeliveriesCap { get; init; } = 100;
    /// <summary>P3: squared mesh-delivery deficit below the threshold once the peer has been in the mesh for the activation time. Weight 0 (off) by default, as deliveries depend on the traffic rate.</summary>
    public double MeshMessageDeliveriesWeight { get; init; }
    public double MeshMessageDeliveriesDecay { get; init; } = 0.5;
    public double MeshMessageDeliveriesThreshold { get; init; } = 1;
    public double MeshMessageDeliveriesCap { get; init; } = 100;
    public TimeSpan MeshMessageDeliveriesActivation { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>P4: squared count of invalid (rejected) messages; must be negative.</summary>
    public double InvalidMessageDeliveriesWeight { get; init; } = -10;
    public double InvalidMessageDeliveriesDecay { get; init; } = 0.5;
}
