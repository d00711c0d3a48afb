// Validates an OpenAPI document with an independent validator (@seriousme/openapi-schema-validator: the OpenAPI
// 3.1 JSON Schema, then every $ref resolved), and the rules this project adds: every operation has a unique
// operationId, every declared body has a schema, every security requirement names a declared scheme.
// Usage: node validate.mjs <document.json>. Prints {"valid":true,...} or the errors, exit 1.
import { readFile } from "node:fs/promises";
import { Validator } from "@seriousme/openapi-schema-validator";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.mjs <document.json>");
  process.exit(2);
}

const document = JSON.parse(await readFile(file, "utf8"));
const validator = new Validator();
const result = await validator.validate(document);
const errors = result.valid ? [] : result.errors.map((e) => JSON.stringify(e));

if (result.valid) {
  try {
    validator.resolveRefs();
  } catch (e) {
    errors.push(`unresolvable $ref: ${e.message}`);
  }
}

const methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
const schemes = new Set(Object.keys(document.components?.securitySchemes ?? {}));
const ids = new Map();
let operations = 0;
for (const [path, item] of Object.entries(document.paths ?? {})) {
  for (const method of methods.filter((m) => item[m])) {
    const operation = item[method];
    const where = `${method.toUpperCase()} ${path}`;
    operations++;
    if (!operation.operationId) errors.push(`${where}: no operationId`);
    else if (ids.has(operation.operationId)) errors.push(`${where}: operationId ${operation.operationId} is also ${ids.get(operation.operationId)}`);
    else ids.set(operation.operationId, where);

    if (!Array.isArray(operation.security)) errors.push(`${where}: no security requirement (use [] for public operations)`);
    for (const requirement of operation.security ?? []) {
      for (const name of Object.keys(requirement)) {
        if (!schemes.has(name)) errors.push(`${where}: security scheme ${name} is not declared`);
      }
    }

    const bodies = [];
    if (operation.requestBody) bodies.push(["request", resolve(operation.requestBody)]);
    for (const [status, response] of Object.entries(operation.responses ?? {})) bodies.push([status, resolve(response)]);
    for (const [what, body] of bodies) {
      for (const [media, content] of Object.entries(body.content ?? {})) {
        if (!content.schema) errors.push(`${where} ${what} ${media}: no schema`);
      }
    }
  }
}

function resolve(node) {
  while (node && node.$ref) {
    node = node.$ref.replace(/^#\//, "").split("/").reduce((n, key) => n?.[key], document);
  }
  return node ?? {};
}

if (errors.length > 0) {
  console.log(JSON.stringify({ valid: false, errors }, null, 2));
  process.exit(1);
}
console.log(JSON.stringify({ valid: true, version: validator.version, operations }));
