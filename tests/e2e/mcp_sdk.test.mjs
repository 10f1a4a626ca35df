// End-to-end: the official MCP TypeScript SDK client drives `mcp-memory serve` over stdio or over
// Streamable HTTP (`serve --http`, API key required), and checks every tool, resource and prompt.
// Usage: node mcp_sdk.test.mjs <path to mcp-memory> stdio|http. Exits non-zero on the first failure.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startHttpServer } from "./mcp_server_process.mjs";

const [binary, mode] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), "mcpmem-sdk-"));
const env = { HOME: dir, MCP_MEMORY_SQLITE_PATH: join(dir, "sdk.db"), PATH: process.env.PATH };
const apiKey = "e2e-key-0123456789";

function httpTransport(url, key) {
  return new StreamableHTTPClientTransport(new URL(url + "/mcp"), {
    requestInit: { headers: { "X-API-Key": key } },
  });
}

let server = null;
let transport;
if (mode === "http") {
  server = await startHttpServer(binary, { ...env, MCP_API_KEY: apiKey });
  transport = httpTransport(server.url, apiKey);
} else {
  transport = new StdioClientTransport({ command: binary, args: ["serve"], env, stderr: "inherit" });
}
const client = new Client({ name: "mcp-memory-e2e", version: "1.0.0" });

try {
  await client.connect(transport);
  assert.equal(client.getServerVersion().name, "memory");

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of ["memory_store", "memory_store_session", "memory_search", "memory_list", "memory_delete", "memory_update",
                   "memory_health", "memory_stats", "memory_cleanup", "memory_sync_status"]) {
    assert.ok(names.includes(n), `tools/list lacks ${n}`);
  }

  // callTool validates structuredContent against each tool's outputSchema.
  const stored = await client.callTool({
    name: "memory_store",
    arguments: { content: "The SDK client stored this memory", tags: ["e2e", "sdk"] },
  });
  assert.equal(stored.structuredContent.success, true);
  assert.match(stored.content[0].text, /^Memory stored successfully \(hash: [0-9a-f]{64}\)$/);
  const hash = stored.structuredContent.content_hash;

  const found = await client.callTool({
    name: "memory_search",
    arguments: { query: "what did the SDK client store", limit: 3, tags: "e2e" },
  });
  assert.equal(found.structuredContent.total_found, 1);
  assert.equal(found.structuredContent.results[0].content_hash, hash);

  const listed = await client.callTool({ name: "memory_list", arguments: { page: 1, page_size: 10 } });
  assert.equal(listed.structuredContent.total, 1);

  const updated = await client.callTool({
    name: "memory_update",
    arguments: { content_hash: hash, updates: { tags: ["e2e"], memory_type: "reference" } },
  });
  assert.equal(updated.structuredContent.memory.memory_type, "reference");

  const session = await client.callTool({
    name: "memory_store_session",
    arguments: { turns: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }],
                 session_id: "e2e-1" },
  });
  assert.match(session.content[0].text, /^Session stored successfully \(session_id: e2e-1, hash: [0-9a-f]{64}, turns: 2\)$/);
  assert.equal(session.structuredContent.content_hashes.length, 1);

  // Invalid arguments: an isError result that names the argument, for every tool that takes any.
  const invalid = [
    ["memory_store", {}, /'content' is required/],
    ["memory_store", { content: "x", tags: 5 }, /'tags' must be a list or a string/],
    ["memory_store_session", { turns: [] }, /'turns' is required/],
    ["memory_search", { query: "x", limit: 0 }, /'limit' must be an integer from 1 to 100/],
    ["memory_search", { query: "x", mode: "fuzzy" }, /'mode' must be/],
    ["memory_list", { page_size: 0 }, /'page_size'/],
    ["memory_delete", {}, /filter/],
    ["memory_update", { updates: {} }, /'content_hash' is required/],
  ];
  for (const [name, args, message] of invalid) {
    const r = await client.callTool({ name, arguments: args });
    assert.equal(r.isError, true, `${name} ${JSON.stringify(args)} was accepted`);
    assert.match(r.content[0].text, message);
  }
  await assert.rejects(client.callTool({ name: "no_such_tool", arguments: {} }), /unknown tool/);

  const dry = await client.callTool({ name: "memory_delete", arguments: { tags: ["e2e"], dry_run: true } });
  assert.equal(dry.structuredContent.dry_run, true);
  const del = await client.callTool({ name: "memory_delete", arguments: { content_hash: hash } });
  assert.equal(del.structuredContent.deleted, 1);
  await client.callTool({ name: "memory_delete", arguments: { tags: "session:e2e-1" } });

  for (const n of ["memory_health", "memory_stats", "memory_cleanup", "memory_sync_status"]) {
    const r = await client.callTool({ name: n, arguments: {} });
    assert.ok(!r.isError, `${n} failed: ${r.content[0].text}`);
  }
  const { resources } = await client.listResources();
  assert.ok(resources.some((r) => r.uri === "memory://stats"));
  const statsRes = await client.readResource({ uri: "memory://stats" });
  assert.equal(JSON.parse(statsRes.contents[0].text).total_memories, 0);
  const { resourceTemplates } = await client.listResourceTemplates();
  assert.equal(resourceTemplates.length, 3);
  const { prompts } = await client.listPrompts();
  assert.ok(prompts.some((p) => p.name === "memory_review"));
  const prompt = await client.getPrompt({ name: "memory_review", arguments: { time_period: "yesterday" } });
  assert.match(prompt.messages[0].content.text, /yesterday/);
  await client.ping();
  if (mode === "http") {
    // A wrong key is refused before any session exists.
    const intruder = new Client({ name: "intruder", version: "1.0.0" });
    await assert.rejects(intruder.connect(httpTransport(server.url, "wrong-key")), (e) => e.code === 401);
    // A restart of the server mid-conversation: the same client's next call succeeds (the
    // session id is signed with a key kept in the data directory, not held in memory).
    const sessionId = transport.sessionId;
    assert.match(sessionId, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/);
    await server.stop();
    server = await startHttpServer(binary, { ...env, MCP_API_KEY: apiKey }, { port: server.port });
    const after = await client.callTool({ name: "memory_list", arguments: {} });
    assert.ok(!after.isError);
    assert.equal(transport.sessionId, sessionId);
    // Ending the session: later requests on it get 404 Session not found.
    await transport.terminateSession();
    const res = await fetch(server.url + "/mcp", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream",
                 "X-API-Key": apiKey, "Mcp-Session-Id": sessionId },
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping" }),
    });
    assert.equal(res.status, 404);
  }
  console.log(`mcp ${mode} e2e: ok`);
} finally {
  await client.close();
  if (server) await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
