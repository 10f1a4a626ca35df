// End-to-end: mcp-remote (the stdio-to-HTTP bridge Claude Desktop users put in front of a
// remote MCP server) in front of `mcp-memory serve --http`, with the key as a header, driven
// by the official SDK client over stdio. With a wrong key it must stop quickly and say that the
// key is the problem (we are not an OAuth server), not hang in an OAuth flow.
// Usage: node mcp_remote.test.mjs <path to mcp-memory>
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startHttpServer } from "./mcp_server_process.mjs";

const [binary] = process.argv.slice(2);
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const proxy = join(root, "node_modules/mcp-remote/dist/proxy.js");
const dir = mkdtempSync(join(tmpdir(), "mcpmem-remote-"));
const env = { HOME: dir, MCP_MEMORY_BASE_DIR: dir, PATH: process.env.PATH,
              MCP_REMOTE_CONFIG_DIR: join(dir, "mcp-auth") };
const apiKey = "e2e-remote-key-0123456789";
const server = await startHttpServer(binary, { ...env, MCP_API_KEY: apiKey });

// mcp-remote with `key` as its header, its stdio piped.
function bridge(key) {
  return spawn(process.execPath, [proxy, server.url + "/mcp", "--header", `X-API-Key:${key}`],
               { env, stdio: ["pipe", "pipe", "pipe"] });
}

try {
  const client = new Client({ name: "desktop-like", version: "1.0.0" });
  await client.connect(new StdioClientTransport({
    command: process.execPath,
    args: [proxy, server.url + "/mcp", "--header", `X-API-Key:${apiKey}`],
    env, stderr: "ignore",
  }));
  const { tools } = await client.listTools();
  assert.equal(tools.length, 10);
  const stored = await client.callTool({ name: "memory_store", arguments: { content: "through mcp-remote" } });
  assert.equal(stored.structuredContent.success, true);
  const { prompts } = await client.listPrompts();
  assert.equal(prompts.length, 5);
  const { resources } = await client.listResources();
  assert.equal(resources.length, 2);
  await client.close();

  // A wrong key: the bridge gives up at once and its error says how to pass the key.
  const wrong = bridge("wrong-key");
  wrong.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } }) + "\n");
  let stderr = "";
  wrong.stderr.on("data", (c) => { stderr += c; });
  const timer = setTimeout(() => wrong.kill("SIGKILL"), 30000);
  const code = await new Promise((r) => wrong.on("exit", r));
  clearTimeout(timer);
  assert.notEqual(code, null, "mcp-remote hung (killed after 30 s): " + stderr);
  assert.notEqual(code, 0);
  assert.match(stderr, /does not use OAuth: it takes an API key/, stderr);
  assert.match(stderr, /X-API-Key/);
  console.log("mcp-remote: ok");
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
