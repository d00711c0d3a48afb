using Microsoft.Extensions.Logging;
using Vivim.Libp2p.Core;

namespace Vivim.Libp2p.Protocols.Pubsub;

// Mesh maintenance: the heartbeat (GRAFT/PRUNE to keep each mesh between Dlo and Dhi), fanout, gossip emission and backoff.
public sealed partial class GossipSub
{
    private PubsubPrune MakePrune(string topic, PeerId to, TimeSpan backoff, bool px = true)
    {
        var peers = new List<byte[]>();
        if (px && Options.PrunePeers > 0)
        {
            foreach (var p in Shuffle(Candidates(topic, [to], q => Score(q) >= 0)).Take(Options.PrunePeers))
            {
                peers.Add(p.ToByteArray());
            }
        }
        return new PubsubPrune(topic, peers, (ulong)Math.Ceiling(backoff.TotalSeconds));
    }

    private void AddToMesh(string topic, PeerId peer, bool sendGraft)
    {
        if (!_peers.TryGetValue(peer, out var st))
        {
            return;
        }
        st.JoinMesh(topic, Now);
        if (sendGraft)
        {
            var rpc = new PubsubRpc();
            rpc.Graft.Add(new PubsubGraft(topic));
            st.Enqueue(rpc, Options.MaxQueuedRpcsPerPeer);
        }
    }

    private IEnumerable<PeerId> Candidates(string topic, HashSet<PeerId> exclude, Func<PeerId, bool> filter) =>
        _peers.Values.Where(p => p.Topics.Contains(topic) && !exclude.Contains(p.Peer) && filter(p.Peer)).Select(p => p.Peer).ToList();

    private static List<T> Shuffle<T>(IEnumerable<T> items)
    {
        var list = items.ToList();
        Random.Shared.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list));
        return list;
    }

    private static PubsubRpc SubRpc(bool subscribe, string topic)
    {
        var rpc = new PubsubRpc();
        rpc.Subscriptions.Add(new PubsubSubOpts(subscribe, topic));
        return rpc;
    }

    private bool InBackoff(PeerId peer, string topic) => _backoff.TryGetValue((peer, topic), out var until) && until > Now;

    private void SetBackoff(PeerId peer, string topic, TimeSpan d)
    {
        var until = Now + d;
        if (!_backoff.TryGetValue((peer, topic), out var cur) || cur < until)
        {
            _backoff[(peer, topic)] = until;
        }
    }

    // ------------------------------------------------------------------ heartbeat
    private int _heartbeatRunning;

    /// <summary>The heartbeat timer, on the host's clock: first after <see cref="GossipSubOptions.HeartbeatInitialDelay"/>, then every <see cref="GossipSubOptions.HeartbeatInterval"/>.</summary>
    private ITimer StartHeartbeat() =>
        _time.CreateTimer(static s => ((GossipSub)s!).OnHeartbeatTick(), this, Options.HeartbeatInitialDelay, Options.HeartbeatInterval);

    private void OnHeartbeatTick()
    {
        // a tick that finds the previous heartbeat still running is dropped, as a PeriodicTimer coalesces missed ticks
        if (_cts.IsCancellationRequested || Interlocked.Exchange(ref _heartbeatRunning, 1) != 0)
        {
            return;
        }
        try
        {
            Heartbeat();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.LogError(e, "gossipsub heartbeat failed");
        }
        finally
        {
            Volatile.Write(ref _heartbeatRunning, 0);
        }
    }

    /// <summary>One heartbeat: mesh maintenance, fanout expiry, gossip emission, score decay, cache shifts.</summary>
    internal void Heartbeat()
    {
        lock (_gate)
        {
            var now = Now;
            _heartbeatTicks++;
            var grafts = new Dictionary<PeerId, List<string>>();
            var prunes = new Dictionary<PeerId, List<string>>();
            foreach (var (topic, mesh) in _mesh)
            {
                // drop negative-score peers and peers that left the topic
                foreach (var p in mesh.ToList())
                {
                    if (!_peers.TryGetValue(p, out var pst) || !pst.Topics.Contains(topic))
                    {
                        mesh.Remove(p);
                        continue;
                    }
                    if (Score(p) < 0)
                    {
                        mesh.Remove(p);
                        pst.LeaveMesh(topic);
                        Add(prunes, p, topic);
                        SetBackoff(p, topic, Options.PruneBackoff);
                    }
                }
                if (mesh.Count < Options.Dlo)
                {
                    foreach (var p in Shuffle(Candidates(topic, mesh, p => !InBackoff(p, topic) && Score(p) >= 0)).Take(Options.D - mesh.Count))
                    {
                        mesh.Add(p);
                        AddToMesh(topic, p, sendGraft: false);
                        Add(grafts, p, topic);
                    }
                }
                if (mesh.Count > Options.Dhi)
                {
                    var byScore = Shuffle(mesh).OrderByDescending(Score).ToList();
                    var keep = byScore.Take(Options.Dscore).ToList();
                    keep.AddRange(Shuffle(byScore.Skip(Options.Dscore)).Take(Options.D - keep.Count));
                    // keep at least Dout outbound peers
                    var outbound = keep.Count(p => _peers[p].Outbound);
                    if (outbound < Options.Dout)
                    {
                        foreach (var p in byScore.Where(p => !keep.Contains(p) && _peers[p].Outbound).Take(Options.Dout - outbound))
                        {
                            var victim = keep.LastOrDefault(q => !_peers[q].Outbound);
                            if (victim is not null)
                            {
                                keep.Remove(victim);
                            }
                            keep.Add(p);
                        }
                    }
                    foreach (var p in mesh.Where(p => !keep.Contains(p)).ToList())
                    {
                        mesh.Remove(p);
                        _peers[p].LeaveMesh(topic);
                        Add(prunes, p, topic);
                        SetBackoff(p, topic, Options.PruneBackoff);
                    }
                }
                else if (mesh.Count >= Options.Dlo)
                {
                    var outbound = mesh.Count(p => _peers[p].Outbound);
                    if (outbound < Options.Dout)
                    {
                        foreach (var p in Shuffle(Candidates(topic, mesh, p => _peers[p].Outbound && !InBackoff(p, topic) && Score(p) >= 0)).Take(Options.Dout - outbound))
                        {
                            mesh.Add(p);
                            AddToMesh(topic, p, sendGraft: false);
                            Add(grafts, p, topic);
                        }
                    }
                }
            }
            // fanout
            foreach (var topic in _fanout.Keys.ToList())
            {
                if (_fanoutLastPublish.TryGetValue(topic, out var last) && now - last > Options.FanoutTtl)
                {
                    _fanout.Remove(topic);
                    _fanoutLastPublish.Remove(topic);
                    continue;
                }
                var fan = _fanout[topic];
                fan.RemoveWhere(p => !_peers.TryGetValue(p, out var pst) || !pst.Topics.Contains(topic) || Score(p) < Options.Score.PublishThreshold);
                if (fan.Count < Options.D)
                {
                    foreach (var p in Shuffle(Candidates(topic, fan, p => Score(p) >= Options.Score.PublishThreshold)).Take(Options.D - fan.Count))
                    {
                        fan.Add(p);
                    }
                }
            }
            // gossip (IHAVE) to non-mesh peers
            var ihave = new Dictionary<PeerId, List<PubsubIHave>>();
            foreach (var (topic, peers) in _mesh.Concat(_fanout))
            {
                var ids = _mcache.GossipIds(topic);
                if (ids.Count == 0)
                {
                    continue;
                }
                var candidates = Shuffle(Candidates(topic, peers, p => Score(p) >= Options.Score.GossipThreshold));
                var n = Math.Max(Options.Dlazy, (int)(Options.GossipFactor * candidates.Count));
                foreach (var p in candidates.Take(n))
                {
                    var chosen = ids.Count > Options.MaxIHaveLength ? Shuffle(ids).Take(Options.MaxIHaveLength).ToList() : ids;
                    if (!ihave.TryGetValue(p, out var l))
                    {
                        ihave[p] = l = [];
                    }
                    l.Add(new PubsubIHave(topic, chosen));
                }
            }
            foreach (var p in grafts.Keys.Union(prunes.Keys).Union(ihave.Keys))
            {
                if (!_peers.TryGetValue(p, out var pst))
                {
                    continue;
                }
                var rpc = new PubsubRpc();
                foreach (var t in grafts.GetValueOrDefault(p) ?? [])
                {
                    rpc.Graft.Add(new PubsubGraft(t));
                }
                foreach (var t in prunes.GetValueOrDefault(p) ?? [])
                {
                    rpc.Prune.Add(MakePrune(t, p, Options.PruneBackoff));
                }
                rpc.IHave.AddRange(ihave.GetValueOrDefault(p) ?? []);
                pst.Enqueue(rpc, Options.MaxQueuedRpcsPerPeer);
            }
            foreach (var pst in _peers.Values)
            {
                pst.IHaveThisHeartbeat = 0;
                pst.AskedThisHeartbeat = 0;
            }
            DecayScores(now);
            foreach (var k in _backoff.Where(kv => kv.Value < now - Options.HeartbeatInterval).Select(kv => kv.Key).ToList())
            {
                _backoff.Remove(k);
            }
            _mcache.Shift();
            _seen.Sweep(now);
        }
    }

    private static void Add(Dictionary<PeerId, List<string>> d, PeerId p, string t)
    {
        if (!d.TryGetValue(p, out var l))
        {
            d[p] = l = [];
        }
        l.Add(t);
    }
}
