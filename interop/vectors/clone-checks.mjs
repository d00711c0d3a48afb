// What a clone checks, written from docs/protocol.md alone with independent libraries (@noble/ed25519,
// @noble/hashes, canonicalize, ./merkle.mjs): did:key, the v1 and v2 rules (§1, §3), update hashes, and a replica
// that accepts a snapshot and then pages of updates only as §6 and §7 allow. Used by interop/libp2p's clone peer.
import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';
import canonicalize from 'canonicalize';
import { merkleRoot, verifyProof, EMPTY, toHex } from './merkle.mjs';

ed.hashes.sha512 = sha512;
const utf8 = (s) => new TextEncoder().encode(s);

export function didOf(publicKey) {
  return 'did:key:z' + base58.encode(new Uint8Array([0xed, 0x01, ...publicKey]));
}

export function publicKeyOf(did) {
  if (typeof did !== 'string' || !did.startsWith('did:key:z')) throw new Error(`not a did:key: ${did}`);
  const bytes = base58.decode(did.slice('did:key:z'.length));
  if (bytes.length !== 34 || bytes[0] !== 0xed || bytes[1] !== 0x01) throw new Error(`not an Ed25519 did:key: ${did}`);
  return bytes.slice(2);
}

export const publicKeyFromSeed = (seedHex) => ed.getPublicKey(hexToBytes(seedHex));

// §3.1: hex(Ed25519(SHA-256(JSON.stringify(subset, sortedKeys))))
export function signV1(seedHex, object, fields) {
  const subset = {};
  for (const f of fields) if (object[f] !== undefined) subset[f] = object[f];
  const text = JSON.stringify(subset, Object.keys(subset).sort());
  return bytesToHex(ed.sign(sha256(utf8(text)), hexToBytes(seedHex)));
}

export function verifyV1(object, fields, publicKey) {
  const subset = {};
  for (const f of fields) if (object[f] !== undefined) subset[f] = object[f];
  const text = JSON.stringify(subset, Object.keys(subset).sort());
  return typeof object.signature === 'string' && /^[0-9a-f]{128}$/.test(object.signature) &&
    ed.verify(hexToBytes(object.signature), sha256(utf8(text)), publicKey);
}

// §3.2: utf8("vivim-v2:" + kind + ":") ‖ JCS(object without signature, proof (and seq, merkleProof for updates))
export function v2Message(kind, object) {
  const copy = { ...object };
  delete copy.signature;
  delete copy.proof;
  if (kind === 'StateUpdate') {
    delete copy.seq;
    delete copy.merkleProof;
  }
  const prefix = utf8(`vivim-v2:${kind}:`);
  const body = utf8(canonicalize(copy));
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}

export function verifyV2(kind, object, publicKey) {
  const p = object?.proof;
  if (p == null || p.type !== 'vivim-v2' || Object.keys(p).length !== 2 || !/^[0-9a-f]{128}$/.test(p.signature ?? '')) return false;
  return ed.verify(hexToBytes(p.signature), v2Message(kind, object), publicKey);
}

export const updateHash = (update) => bytesToHex(sha256(v2Message('StateUpdate', update)));

const valueOf = (document) => sha256(utf8(canonicalize(document)));

const CATEGORIES = ['identity', 'nodes', 'apps', 'contentManifest', 'socialGraph', 'memoryIndex'];

/** The documents of an SDK-shaped snapshot state: path -> value hash (identity's did and publicKey are not documents). */
export function documentsOf(state) {
  const documents = new Map();
  for (const category of CATEGORIES) {
    const members = state?.[category];
    if (members == null || typeof members !== 'object') throw new Error(`the state has no ${category}`);
    for (const [key, document] of Object.entries(members)) {
      if (category === 'identity' && (key === 'did' || key === 'publicKey')) continue;
      documents.set(`${category}/${key}`, valueOf(document));
    }
  }
  return documents;
}

/**
 * A verified replica of a parent's state. Counts what it checked, so a caller can show that every signature, hash
 * and root was looked at.
 */
export class Replica {
  constructor (parentDid, snapshot) {
    this.parentKey = publicKeyOf(parentDid);
    this.checked = { snapshotProofs: 0, commitProofs: 0, updateHashes: 0, roots: 0, merkleProofs: 0 };
    if (!verifyV2('StateSnapshot', snapshot, this.parentKey)) throw new Error('the snapshot\'s v2 proof does not verify under the parent\'s key');
    this.checked.snapshotProofs++;
    this.documents = documentsOf(snapshot.state);
    this.root = merkleRoot(this.documents);
    if (this.root !== snapshot.rootV2) throw new Error(`the snapshot's documents give root ${this.root}, it says ${snapshot.rootV2}`);
    this.checked.roots++;
    this.seq = snapshot.seq;
    this.verifiedCommits = new Set();
  }

  /** Applies `{updates, commits}` in seq order; throws at the first check that fails. Returns how many were applied. */
  apply (page) {
    let applied = 0;
    for (const update of [...page.updates].sort((a, b) => a.seq - b.seq)) {
      if (update.seq <= this.seq) continue;
      if (update.seq !== this.seq + 1) throw new Error(`gap: replica at ${this.seq}, next update is ${update.seq}`);
      const commit = page.commits.find((c) => c.fromSeq <= update.seq && update.seq <= c.toSeq);
      if (commit == null) throw new Error(`no commit covers seq ${update.seq}`);
      if (commit.did !== undefined && didOf(this.parentKey) !== commit.did) throw new Error(`commit for ${commit.did}`);
      const id = `${commit.fromSeq}-${commit.toSeq}-${commit.proof?.signature}`;
      if (!this.verifiedCommits.has(id)) {
        if (!verifyV2('Commit', commit, this.parentKey)) throw new Error(`commit ${commit.fromSeq}..${commit.toSeq} does not verify`);
        this.verifiedCommits.add(id);
        this.checked.commitProofs++;
      }
      const i = update.seq - commit.fromSeq;
      if (updateHash(update) !== commit.updateHashes[i]) throw new Error(`update ${update.seq}'s hash is not the commit's`);
      this.checked.updateHashes++;
      if (i === 0 && commit.prevRoot !== this.root) throw new Error(`commit ${commit.fromSeq} starts from ${commit.prevRoot}, the replica is at ${this.root}`);
      if (update.operation === 'delete') this.documents.delete(update.path);
      else this.documents.set(update.path, valueOf(update.data));
      const root = merkleRoot(this.documents);
      if (root !== commit.roots[i]) throw new Error(`after seq ${update.seq} the root is ${root}, the commit says ${commit.roots[i]}`);
      this.checked.roots++;
      const value = update.operation === 'delete' ? null : this.documents.get(update.path);
      if (!verifyProof(root, update.path, value, update.merkleProof)) throw new Error(`update ${update.seq}'s merkleProof does not verify`);
      this.checked.merkleProofs++;
      this.root = root;
      this.seq = update.seq;
      applied++;
    }
    return applied;
  }
}

export { EMPTY, toHex };
