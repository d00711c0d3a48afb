// js↔js baseline for the Vivim.Libp2p benchmarks: two js-libp2p 3.x nodes in one process over loopback TCP.
// Usage: node --import ./polyfill.mjs bench.mjs [--seconds=5] [--mib=256]
// Prints one JSON line: { handshakesPerSec, yamux1MBps, yamux32MBps, gossipDeliveriesPerSec }
import { createPeer } from './peer.mjs'

const arg = (name, def) => Number(process.argv.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def)
const seconds = arg('seconds', 5)
const mib = arg('mib', 256)
const gossipMsgs = arg('gossip-msgs', 20000)
const SINK = '/vivim/sink/1.0.0'
const LIMITS = { maxInboundStreams: 1024, maxOutboundStreams: 1024 }

const server = await createPeer()
const client = await createPeer()
await server.handle(SINK, async (stream) => {
  for await (const _ of stream) { /* discard */ }
  await stream.close()
}, LIMITS)
const addr = server.getMultiaddrs()[0]

// Connection setup rate: TCP + multistream + Noise XX + multistream(yamux), then close; one dial at a time
// (js dedupes concurrent dials to the same address).
async function handshakes () {
  let count = 0
  const deadline = Date.now() + seconds * 1000
  const start = performance.now()
  while (Date.now() < deadline) {
    const conn = await client.dial(addr, { force: true })
    count++
    await conn.close().catch(() => {})
  }
  return count / ((performance.now() - start) / 1000)
}

async function throughput (streams) {
  const conn = await client.dial(addr)
  const per = Math.floor(mib * 1024 * 1024 / streams)
  const chunk = new Uint8Array(64 * 1024).fill(7)
  const start = performance.now()
  await Promise.all(Array.from({ length: streams }, async () => {
    const s = await conn.newStream(SINK, LIMITS)
    const done = (async () => { for await (const _ of s) { /* server sends nothing */ } })()
    for (let left = per; left > 0; left -= chunk.length) {
      const c = left >= chunk.length ? chunk : chunk.subarray(0, left)
      if (!s.send(c)) await s.onDrain()
    }
    await s.close()
    await done
  }))
  const secs = (performance.now() - start) / 1000
  return (per * streams) / (1024 * 1024) / secs
}

// GossipSub: 4 nodes, all pairs connected, all subscribed; node 0 publishes gossipMsgs 256-byte messages;
// deliveries/s counted at the 3 subscribers (same shape as Libp2pLoad.GossipAsync).
async function gossip (messages) {
  const topic = 'bench'
  const nodes = await Promise.all(Array.from({ length: 4 }, () => createPeer({ gossip: true })))
  for (let i = 0; i < 4; i++) {
    for (let j = i + 1; j < 4; j++) await nodes[i].dial(nodes[j].getMultiaddrs()[0])
  }
  for (const n of nodes) n.services.pubsub.subscribe(topic)
  while (nodes.some(n => n.services.pubsub.getMeshPeers(topic).length < 3)) await new Promise(resolve => setTimeout(resolve, 20))
  let received = 0
  const done = Promise.withResolvers()
  for (const n of nodes.slice(1)) {
    n.services.pubsub.addEventListener('message', () => { if (++received === 3 * messages) done.resolve() })
  }
  const payload = new Uint8Array(256)
  const start = performance.now()
  for (let i = 0; i < messages; i++) await nodes[0].services.pubsub.publish(topic, payload)
  await done.promise
  const secs = (performance.now() - start) / 1000
  await Promise.all(nodes.map(n => n.stop()))
  return 3 * messages / secs
}

const result = {
  handshakesPerSec: await handshakes(),
  yamux1MBps: await throughput(1),
  yamux32MBps: await throughput(32),
  gossipDeliveriesPerSec: await gossip(gossipMsgs)
}
process.stdout.write(JSON.stringify(result) + '\n')
await client.stop()
await server.stop()
process.exit(0)
