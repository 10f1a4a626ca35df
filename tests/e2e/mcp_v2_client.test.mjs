// End-to-end: the official MCP TypeScript SDK v2 client (@modelcontextprotocol/client, the
// stable line that speaks the 2026-07-28 revision) drives `mcp-memory serve` over stdio or
// Streamable HTTP, pinned to the modern era, negotiating (auto), or in the legacy era. It sees
// the prompts and resources (declared capabilities), calls tools, and, over HTTP, keeps
// working when the server restarts mid-conversation.
// Usage: node mcp_v2_client.test.mjs <path to mcp-memory> stdio|http modern|auto|legacy
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { startHttpServer } from "./mcp_server_process.mjs";

const [binary, transportKind, era] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), "mcpmem-v2-"));
const env = { HOME: dir, MCP_MEMORY_BASE_DIR: dir, PATH: process.env.PATH };
const apiKey = "e2e-v2-key-0123456789";
const negotiation = { modern: { mode: { pin: "2026-07-28" } }, auto: { mode: "auto" },
                      legacy: { mode: "legacy" } }[era];
const expectedVersion = era === "legacy" ? "2025-11-25" : "2026-07-28";

function httpTransport(url, key) {
  return new StreamableHTTPClientTransport(new URL(url + "/mcp"), {
    requestInit: { headers: { "X-API-Key": key } },
  });
}

let server = null;
let transport;
if (transportKind === "http") {
  server = await startHttpServer(binary, { ...env, MCP_API_KEY: apiKey });
  transport = httpTransport(server.url, apiKey);
} else {
  transport = new StdioClientTransport({ command: binary, args: ["serve"], env, stderr: "ignore" });
}
const client = new Client({ name: "mcp-memory-v2-e2e", version: "1.0.0" },
                          { versionNegotiation: negotiation });

try {
  await client.connect(transport);
  assert.equal(client.getNegotiatedProtocolVersion(), expectedVersion);
  assert.equal(client.getServerVersion().name, "memory");
  const caps = client.getServerCapabilities();
  for (const c of ["tools", "prompts", "resources"]) assert.ok(caps[c], `${c} not declared`);
  assert.match(client.getInstructions(), /memory_store/);

  const { tools } = await client.listTools();
  assert.equal(tools.length, 10);
  const stored = await client.callTool({
    name: "memory_store",
    arguments: { content: "The v2 client stored this in the " + era + " era", tags: ["v2"] },
  });
  assert.equal(stored.structuredContent.success, true, JSON.stringify(stored));
  const hash = stored.structuredContent.content_hash;
  const found = await client.callTool({ name: "memory_search", arguments: { query: "v2 client", tags: "v2" } });
  assert.equal(found.structuredContent.results[0].content_hash, hash);
  // The text alone carries what the next call needs (some clients drop structuredContent).
  assert.ok(found.content[0].text.includes(hash), found.content[0].text);

  // Replies an agent can act on (issue 16's list, as a real client sees them).
  for (const t of tools) {
    for (const [name, prop] of Object.entries(t.inputSchema.properties ?? {})) {
      assert.ok(prop.description, `${t.name}.${name} has no description`);
    }
  }
  assert.match(found.content[0].text, /hash: [0-9a-f]{64} \| type: note \| tags: v2 \| created: \S+ \| score: [0-9.]+/);
  const byTags = await client.callTool({ name: "memory_search", arguments: { tags: "v2" } });
  assert.match(byTags.content[0].text, /\(mode: tags\)/);
  await client.callTool({ name: "memory_store", arguments: { content: "A second v2 memory about the client" } });
  const cut = await client.callTool({ name: "memory_search", arguments: { query: "v2 client", max_response_chars: 330 } });
  assert.equal(cut.structuredContent.total_found, 2);
  assert.equal(cut.structuredContent.results.length, 1);
  assert.match(cut.content[0].text, /^Found 2 memories .*showing 1/);
  const rewrite = await client.callTool({ name: "memory_update", arguments: { content_hash: hash, updates: { content: "new" } } });
  assert.equal(rewrite.isError, true);
  assert.match(rewrite.content[0].text, /content cannot be changed/);
  const fact = "The build server has 8 cores and 32 GB of memory";
  const first = await client.callTool({ name: "memory_store", arguments: { content: fact } });
  const corrected = await client.callTool({ name: "memory_store", arguments: { content: fact.replace("8 cores", "16 cores") } });
  assert.equal(corrected.structuredContent.success, true, corrected.content[0].text);
  const near = await client.callTool({ name: "memory_store", arguments: { content: fact.toLowerCase() + "." } });
  assert.equal(near.isError, true);
  assert.ok(near.content[0].text.includes(first.structuredContent.content_hash), near.content[0].text);
  assert.match(near.content[0].text, /allow_duplicate: true/);
  const exact = await client.callTool({ name: "memory_store", arguments: { content: fact } });
  assert.ok(!exact.isError);
  assert.equal(exact.structuredContent.content_hash, first.structuredContent.content_hash);
  for (const tool of ["memory_list", "memory_stats", "memory_health"]) {
    const r = await client.callTool({ name: tool, arguments: {} });
    assert.ok(!r.content[0].text.trimStart().startsWith("{"), `${tool} answers JSON text`);
  }

  const { prompts } = await client.listPrompts();
  assert.equal(prompts.length, 5);
  for (const p of prompts) {
    for (const a of p.arguments ?? []) assert.ok(a.description, `${p.name}.${a.name} has no description`);
  }
  const prompt = await client.getPrompt({ name: "memory_review", arguments: { time_period: "yesterday" } });
  assert.match(prompt.messages[0].content.text, /yesterday/);
  assert.doesNotMatch(prompt.messages[0].content.text, /\(any\)/);
  const { resources } = await client.listResources();
  assert.deepEqual(resources.map((r) => r.uri).sort(), ["memory://stats", "memory://tags"]);
  const { resourceTemplates } = await client.listResourceTemplates();
  assert.equal(resourceTemplates.length, 3);
  const stats = await client.readResource({ uri: "memory://stats" });
  assert.equal(JSON.parse(stats.contents[0].text).total_memories, 4);
  const recent = await client.readResource({ uri: "memory://recent/5" });
  assert.ok(JSON.parse(recent.contents[0].text).memories.some((m) => m.content_hash === hash));
  await assert.rejects(client.readResource({ uri: "memory://nothing" }), /unknown resource/);
  await assert.rejects(client.callTool({ name: "no_such_tool", arguments: {} }), /unknown tool/);

  if (server) {
    // A restart mid-conversation: the same client object's next call succeeds.
    await server.stop();
    server = await startHttpServer(binary, { ...env, MCP_API_KEY: apiKey }, { port: server.port });
    const again = await client.callTool({ name: "memory_search", arguments: { query: "v2 client", tags: "v2" } });
    assert.equal(again.structuredContent.results[0].content_hash, hash);
    // A wrong key is named as such, not taken for a protocol problem.
    const intruder = new Client({ name: "intruder", version: "1.0.0" }, { versionNegotiation: negotiation });
    await assert.rejects(intruder.connect(httpTransport(server.url, "wrong-key")), /401|authoriz/i);
  }
  console.log(`mcp v2 ${transportKind} ${era}: ok`);
} finally {
  await client.close();
  if (server) await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
