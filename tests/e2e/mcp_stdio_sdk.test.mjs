// End-to-end: the official MCP TypeScript SDK client drives `mcp-memory serve` over stdio.
// Usage: node mcp_stdio_sdk.test.mjs <path to mcp-memory>. Exits non-zero on the first failure.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const binary = process.argv[2];
const dir = mkdtempSync(join(tmpdir(), "mcpmem-sdk-"));
const transport = new StdioClientTransport({
  command: binary,
  args: ["serve"],
  env: { HOME: dir, MCP_MEMORY_SQLITE_PATH: join(dir, "sdk.db"), PATH: process.env.PATH },
  stderr: "inherit",
});
const client = new Client({ name: "mcp-memory-e2e", version: "1.0.0" });

try {
  await client.connect(transport);
  assert.equal(client.getServerVersion().name, "memory");

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of ["memory_store", "memory_search", "memory_list", "memory_delete", "memory_update",
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

  const bad = await client.callTool({ name: "memory_search", arguments: { query: "x", limit: 0 } });
  assert.equal(bad.isError, true);
  assert.match(bad.content[0].text, /'limit' must be between 1 and 100/);

  const dry = await client.callTool({ name: "memory_delete", arguments: { tags: ["e2e"], dry_run: true } });
  assert.equal(dry.structuredContent.dry_run, true);
  const del = await client.callTool({ name: "memory_delete", arguments: { content_hash: hash } });
  assert.equal(del.structuredContent.deleted, 1);

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
  console.log("mcp stdio e2e: ok");
} finally {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
}
