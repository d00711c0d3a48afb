// Recomputes every vector in docs/protocol-vectors.json with code independent of the C# implementation:
// Node's own JSON.stringify, the `canonicalize` package (RFC 8785), @noble/ed25519 and @noble/hashes.
// Usage: node check-vectors.mjs <path to protocol-vectors.json>. Exits 1 on any mismatch.
import { readFileSync } from 'node:fs';
import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';
import canonicalize from 'canonicalize';
import { merkleRoot, merkleProof, verifyProof } from './merkle.mjs';

ed.hashes.sha512 = sha512;

const file = process.argv[2];
if (!file) {
  console.error('usage: node check-vectors.mjs <protocol-vectors.json>');
  process.exit(2);
}
const vectors = JSON.parse(readFileSync(file, 'utf8'));
const utf8 = (s) => new TextEncoder().encode(s);
let checked = 0;
const failures = [];

function expectEqual(where, actual, expected) {
  checked++;
  if (actual !== expected) failures.push(`${where}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

function didOf(publicKey) {
  return 'did:key:z' + base58.encode(new Uint8Array([0xed, 0x01, ...publicKey]));
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function requireSections(names) {
  for (const name of names) {
    if (!Array.isArray(vectors[name]) || vectors[name].length === 0) failures.push(`section "${name}" is missing or empty`);
  }
}

requireSections(['did', 'v1', 'v2', 'jcs', 'snapshotRootV1', 'merkle']);

for (const [i, v] of (vectors.did ?? []).entries()) {
  const pk = ed.getPublicKey(hexToBytes(v.seedHex));
  expectEqual(`did[${i}].publicKeyHex`, bytesToHex(pk), v.publicKeyHex);
  expectEqual(`did[${i}].did`, didOf(pk), v.did);
}

// v1: the SDK rule, hex(Ed25519(SHA-256(JSON.stringify(obj, Object.keys(obj).sort()))))
for (const [i, v] of (vectors.v1 ?? []).entries()) {
  const text = JSON.stringify(v.signed, Object.keys(v.signed).sort());
  if (v.json !== undefined) expectEqual(`v1[${i}].json`, text, v.json);
  const digest = sha256(utf8(text));
  if (v.digestHex !== undefined) expectEqual(`v1[${i}].digestHex`, bytesToHex(digest), v.digestHex);
  const seed = hexToBytes(v.seedHex);
  expectEqual(`v1[${i}].signature`, bytesToHex(ed.sign(digest, seed)), v.signature);
  checked++;
  if (!ed.verify(hexToBytes(v.signature), digest, ed.getPublicKey(seed))) failures.push(`v1[${i}]: signature does not verify`);
}

// v2: Ed25519 over utf8("vivim-v2:" + kind + ":") || JCS(object without signature, proof [, seq, merkleProof])
for (const [i, v] of (vectors.v2 ?? []).entries()) {
  const excluded = v.kind === 'StateUpdate' ? ['signature', 'proof', 'seq', 'merkleProof'] : ['signature', 'proof'];
  const body = Object.fromEntries(Object.entries(v.object).filter(([k]) => !excluded.includes(k)));
  const jcs = canonicalize(body);
  expectEqual(`v2[${i}].jcs`, jcs, v.jcs);
  const message = concat(utf8(`vivim-v2:${v.kind}:`), utf8(jcs));
  const seed = hexToBytes(v.seedHex);
  const signature = bytesToHex(ed.sign(message, seed));
  expectEqual(`v2[${i}].signature`, signature, v.signature);
  expectEqual(`v2[${i}].object.proof.type`, v.object.proof?.type, 'vivim-v2');
  expectEqual(`v2[${i}].object.proof.signature`, v.object.proof?.signature, signature);
}

for (const [i, v] of (vectors.jcs ?? []).entries()) {
  const input = v.inputText !== undefined ? JSON.parse(v.inputText) : v.input;
  expectEqual(`jcs[${i}]`, canonicalize(input), v.canonical);
  if (v.inputText !== undefined) expectEqual(`jcs[${i}] input/inputText`, canonicalize(v.input), v.canonical);
}

for (const [i, v] of (vectors.snapshotRootV1 ?? []).entries()) {
  const text = JSON.stringify(v.state);
  expectEqual(`snapshotRootV1[${i}].json`, text, v.json);
  expectEqual(`snapshotRootV1[${i}].merkleRoot`, bytesToHex(sha256(utf8(text))), v.merkleRoot);
}

// Merkle: leaf value = SHA-256(JCS(document)); root and proofs follow docs/protocol.md.
for (const [i, v] of (vectors.merkle ?? []).entries()) {
  const values = new Map(Object.entries(v.documents).map(([path, doc]) => [path, sha256(utf8(canonicalize(doc)))]));
  expectEqual(`merkle[${i}].root`, merkleRoot(values), v.root);
  for (const [j, p] of (v.proofs ?? []).entries()) {
    expectEqual(`merkle[${i}].proofs[${j}].present`, values.has(p.path), p.present);
    expectEqual(`merkle[${i}].proofs[${j}].proof`, merkleProof(values, p.path), p.proof);
    checked++;
    if (!verifyProof(v.root, p.path, values.get(p.path) ?? null, p.proof)) {
      failures.push(`merkle[${i}].proofs[${j}]: proof for ${p.path} does not verify`);
    }
  }
}

if (failures.length > 0) {
  console.error(`${failures.length} of ${checked} checks failed:`);
  for (const f of failures) console.error('  ' + f);
  process.exit(1);
}
console.log(`all ${checked} checks passed`);
