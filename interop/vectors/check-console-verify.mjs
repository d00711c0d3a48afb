// Runs the tenant console's in-browser verification (Vivim.Gateway/TenantConsole/assets/verify.js) against
// docs/protocol-vectors.json, under Node's WebCrypto (the same API the browser gives it): every vector must pass, and
// each altered one must fail. Usage: node check-console-verify.mjs <verify.js> <protocol-vectors.json>. Exits 1 on a mismatch.
import { readFileSync } from 'node:fs';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';

ed.hashes.sha512 = sha512;

const [verifyPath, vectorsPath] = process.argv.slice(2);
if (!verifyPath || !vectorsPath) {
  console.error('usage: node check-console-verify.mjs <verify.js> <protocol-vectors.json>');
  process.exit(2);
}

// verify.js is an ES module served to browsers; outside a "type": "module" package Node would read it as CommonJS.
const console_ = await import('data:text/javascript,' + encodeURIComponent(readFileSync(verifyPath, 'utf8')));
const vectors = JSON.parse(readFileSync(vectorsPath, 'utf8'));
const failures = [];
let checked = 0;

function expect(where, condition, detail = '') {
  checked++;
  if (!condition) failures.push(`${where}${detail ? ': ' + detail : ''}`);
}

const didOfSeed = (seedHex) => 'did:key:z' + base58.encode(new Uint8Array([0xed, 0x01, ...ed.getPublicKey(hexToBytes(seedHex))]));

for (const [i, v] of vectors.did.entries()) {
  expect(`did[${i}] publicKeyOf`, bytesToHex(console_.publicKeyOf(v.did)) === v.publicKeyHex);
}

for (const [i, v] of vectors.jcs.entries()) {
  const canonical = console_.canonical(JSON.parse(v.inputText));
  expect(`jcs[${i}] canonical`, canonical === v.canonical, `got ${JSON.stringify(canonical)}`);
}

for (const [i, v] of vectors.v2.entries()) {
  const signer = didOfSeed(v.seedHex);
  const where = `v2[${i}] ${v.kind}`;
  const good = await console_.verifyV2(v.kind, v.object, signer);
  expect(`${where} verifies`, good.ok, good.reason);

  // What the console must refuse: a changed member, another signer, a changed signature, a proof of another kind.
  const changed = structuredClone(v.object);
  const member = Object.keys(changed).find((k) => !['proof', 'signature', 'seq', 'merkleProof'].includes(k));
  changed[member] = typeof changed[member] === 'number' ? changed[member] + 1 : JSON.stringify(changed[member]) + 'x';
  expect(`${where} with ${member} changed is refused`, !(await console_.verifyV2(v.kind, changed, signer)).ok);
  const other = didOfSeed('11'.repeat(32));
  expect(`${where} under another DID is refused`, !(await console_.verifyV2(v.kind, v.object, other)).ok);
  const flipped = structuredClone(v.object);
  const s = flipped.proof.signature;
  flipped.proof.signature = (s[0] === '0' ? '1' : '0') + s.slice(1);
  expect(`${where} with a changed signature is refused`, !(await console_.verifyV2(v.kind, flipped, signer)).ok);
  const kind = v.kind === 'Commit' ? 'StateUpdate' : 'Commit';
  expect(`${where} read as a ${kind} is refused`, !(await console_.verifyV2(kind, v.object, signer)).ok);
}

for (const [i, v] of vectors.merkle.entries()) {
  for (const p of v.proofs) {
    const where = `merkle[${i}] ${JSON.stringify(p.path)}`;
    if (p.present) {
      const document = v.documents[p.path];
      const result = await console_.verifyInclusion(p.path, document, p.proof, v.root);
      expect(`${where} included`, result.ok, result.reason);
      const altered = await console_.verifyInclusion(p.path, { altered: document }, p.proof, v.root);
      expect(`${where} with another document is refused`, !altered.ok);
      const elsewhere = await console_.verifyInclusion(p.path + '/x', document, p.proof, v.root);
      expect(`${where} at another path is refused`, !elsewhere.ok);
    } else {
      const result = await console_.verifyInclusion(p.path, {}, p.proof, v.root);
      expect(`${where} (absent) is not taken as included`, !result.ok);
    }
  }
}

if (failures.length > 0) {
  console.error(failures.join('\n'));
  console.log(`${failures.length} of ${checked} checks failed`);
  process.exit(1);
}

console.log(`${checked} checks passed`);
