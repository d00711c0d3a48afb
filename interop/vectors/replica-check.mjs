// Applies what a gateway served to a clone — {parentDid, snapshot, pages: [{updates, commits, headSeq}]} in a JSON
// file — to the reference Replica of clone-checks.mjs, and prints {seq, root, checked} or exits 1 with the first
// check that failed. Usage: node replica-check.mjs <file.json>.
import { readFileSync } from 'node:fs';
import { Replica } from './clone-checks.mjs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node replica-check.mjs <served.json>');
  process.exit(2);
}
const served = JSON.parse(readFileSync(file, 'utf8'));
try {
  const replica = new Replica(served.parentDid, served.snapshot);
  for (const page of served.pages) replica.apply(page);
  console.log(JSON.stringify({ seq: replica.seq, root: replica.root, checked: replica.checked }));
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
