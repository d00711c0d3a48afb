// Usage: node merkle-selftest.mjs [cases.json]
// Without an argument: checks the worked example of docs/protocol.md §6.
// With a file {"cases":[{"documents":{path:valueHex},"root":hex,"proofs":[{"path","value":hex|null,"proof"}]}]}
// (written by the C# test MerkleJsInteropTests): recomputes every root and proof independently, requires them to
// be identical, verifies each proof, and checks that altered claims and altered proofs are rejected. A case may
// give "leaves":{keyHex:valueHex} and proofs with "key" instead of documents/paths, to force deep shared prefixes.
import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  EMPTY, base64urlDecode, base64urlEncode, merkleProof, merkleProofForKey, merkleRoot, merkleRootOfKeys, toHex,
  verifyProof, verifyProofForKey, MerkleProofFormatError,
} from './merkle.mjs';

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};

function rejects(verify, rootHex, subject, value, proof) {
  try {
    return verify(rootHex, subject, value, proof) === false;
  } catch (e) {
    return e instanceof MerkleProofFormatError;
  }
}

function workedExample() {
  const jcs = (text) => toHex(sha256(new TextEncoder().encode(text)));
  const docs = new Map([
    ['identity/self', jcs('{"name":"Ada"}')],
    ['nodes/laptop', jcs('{"kind":"laptop"}')],
    ['apps/notes', jcs('{"enabled":true}')],
  ]);
  const root = 'dbf8010747b6a859132b1a2e04daf9baf284f2911ffcccd7b298b0d91b9cb3cd';
  const proofs = [
    ['identity/self', docs.get('identity/self'),
      'AQAAA2Aixo4a533wOSI6aZ4qpH03of0Z6Rj1HSHdcIpFJHyMEwIJh1jRm5zKH4kL7BMqA-uZQ2ZUA9TAHSfMH2CsNWfs'],
    ['memoryIndex/notes/42', null, 'AQEAAYDTLHRcSlOOFHa5kvuGH_mWuUda4OUkpopl2-8EF3ZVzA'],
    ['contentManifest/a', null,
      'AQLarRLEZvM77DUdiGpgDJFEFStLYwkLEO95izZFJfytZ8GwdfzjYhmWcYzFcHqI8pF-Ie8YmaMnI1kw6zdwQ26bAAJA_AilL9h0Ljs5eajQlFfaT_cBVRkR2HywT0cmjDXAm2Q'],
  ];
  check(toHex(EMPTY) === '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', 'EMPTY');
  check(merkleRoot(new Map()) === toHex(EMPTY), 'empty root');
  return [{ documents: Object.fromEntries(docs), root, proofs: proofs.map(([path, value, proof]) => ({ path, value, proof })) }];
}

const cases = process.argv[2] ? JSON.parse(readFileSync(process.argv[2], 'utf8')).cases : workedExample();
let proofCount = 0;
cases.forEach((c, ci) => {
  // Either documents by path or raw leaves by key; the rules are the same below the key.
  const byKey = c.leaves !== undefined;
  const set = new Map(Object.entries(byKey ? c.leaves : c.documents));
  const root = byKey ? merkleRootOfKeys(set) : merkleRoot(set);
  const prove = byKey ? merkleProofForKey : merkleProof;
  const verify = byKey ? verifyProofForKey : verifyProof;
  check(root === c.root, `case ${ci}: root ${root} != ${c.root}`);
  for (const p of c.proofs) {
    proofCount++;
    const subject = byKey ? p.key : p.path;
    const where = `case ${ci} ${subject}`;
    const expectedValue = set.get(subject) ?? null;
    check(p.value === expectedValue, `${where}: claimed value disagrees with the set`);
    const mine = prove(set, subject);
    check(mine === p.proof, `${where}: proof differs\n  js: ${mine}\n  c#: ${p.proof}`);
    check(verify(c.root, subject, p.value, p.proof) === true, `${where}: proof does not verify`);
    // The opposite claim must fail.
    const opposite = p.value === null ? toHex(EMPTY) : null;
    check(rejects(verify, c.root, subject, opposite, p.proof), `${where}: opposite claim accepted`);
    // Any single flipped bit in the proof must fail (sampled positions keep this fast).
    const bytes = base64urlDecode(p.proof);
    for (let k = 0; k < Math.min(64, bytes.length * 8); k++) {
      const bitIndex = (k * 7919 + ci) % (bytes.length * 8);
      const altered = bytes.slice();
      altered[bitIndex >> 3] ^= 0x80 >> (bitIndex & 7);
      check(rejects(verify, c.root, subject, p.value, base64urlEncode(altered)), `${where}: flipped bit ${bitIndex} accepted`);
    }
  }
});

if (failures.length > 0) {
  console.error(`merkle-selftest: FAILED (${failures.length})`);
  for (const f of failures.slice(0, 50)) console.error('  ' + f);
  process.exit(1);
}
console.log(`merkle-selftest: ok cases=${cases.length} proofs=${proofCount}`);
