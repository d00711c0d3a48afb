// Generates a TypeScript client from an OpenAPI document with openapi-typescript, type-checks and compiles
// walk.mts against it with tsc (strict), then runs the compiled walk against a live gateway with openapi-fetch.
// Usage: node client-check.mjs <document.json> <gateway base URL> <operator key>. Prints the walk's JSON result.
import { mkdtemp, writeFile, copyFile, symlink } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const [file, baseUrl, operatorKey] = process.argv.slice(2);
if (!file || !baseUrl || !operatorKey) {
  console.error("usage: node client-check.mjs <document.json> <gateway base URL> <operator key>");
  process.exit(2);
}

const here = dirname(fileURLToPath(import.meta.url));
const work = await mkdtemp(join(tmpdir(), "vivim-openapi-client-"));
const ast = await openapiTS(pathToFileURL(resolve(file)));
await writeFile(join(work, "api.d.ts"), astToString(ast));
await copyFile(join(here, "walk.mts"), join(work, "walk.mts"));
await symlink(join(here, "node_modules"), join(work, "node_modules"), "dir");

const tsc = spawnSync(process.execPath, [
  join(here, "node_modules", "typescript", "bin", "tsc"),
  "--strict", "--noUncheckedIndexedAccess", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext",
  "--skipLibCheck", "--outDir", join(work, "out"), join(work, "walk.mts"),
], { cwd: work, encoding: "utf8" });
if (tsc.status !== 0) {
  console.error(`tsc rejected the walk against the generated client (${work}):\n${tsc.stdout}${tsc.stderr}`);
  process.exit(1);
}

const { walk } = await import(pathToFileURL(join(work, "out", "walk.mjs")).href);
console.log(JSON.stringify(await walk(baseUrl, operatorKey)));
