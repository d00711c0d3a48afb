// A walk through the API with a client generated from its OpenAPI document (api.d.ts from openapi-typescript):
// the operator creates a tenant, the tenant hosts an exit node, writes a document whose path has slashes and reads
// it back through the generated path parameter (which percent-encodes the slashes), then asks for a missing one.
import createClient from "openapi-fetch";
import type { paths, components } from "./api.js";

type Document = components["schemas"]["Document"];

export async function walk(baseUrl: string, operatorKey: string) {
  const operator = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${operatorKey}` } });
  const tenant = await operator.POST("/v1/tenants", { body: { name: "generated-client" } });
  if (!tenant.data) throw new Error(`createTenant: ${tenant.response.status} ${JSON.stringify(tenant.error)}`);

  const owner = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${tenant.data.apiKey}` } });
  const node = await owner.POST("/v1/exit-nodes", { body: { capabilities: ["memory"] } });
  if (!node.data) throw new Error(`createExitNode: ${node.response.status} ${JSON.stringify(node.error)}`);
  const did = node.data.did;

  const path = "memoryIndex/notes/first";
  const written = await owner.POST("/v1/exit-nodes/{did}/updates", {
    params: { path: { did } },
    body: { updates: [{ type: "memory", operation: "create", path, data: { text: "hello from a generated client" } }] },
  });
  if (!written.data) throw new Error(`writeUpdates: ${written.response.status} ${JSON.stringify(written.error)}`);
  const seq = written.data.receipts[0]?.seq;

  const read = await owner.GET("/v1/exit-nodes/{did}/documents/{path}", { params: { path: { did, path } } });
  if (!read.data) throw new Error(`getDocument ${read.response.url}: ${read.response.status} ${JSON.stringify(read.error)}`);
  const document: Document = read.data;

  const missing = await owner.GET("/v1/exit-nodes/{did}/documents/{path}", { params: { path: { did, path: "memoryIndex/notes/none" } } });
  const missingCode = missing.error?.code;

  return {
    did,
    seq,
    requestUrl: read.response.url,
    path: document.path,
    document: document.document,
    documentSeq: document.seq,
    missingStatus: missing.response.status,
    missingCode,
  };
}
