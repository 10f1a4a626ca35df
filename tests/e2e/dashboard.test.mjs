// End-to-end: the dashboard in headless Chromium (Debian's chromium, driven by playwright-core)
// against the real `serve --http`: a wrong key is refused, the right one is kept; add a memory,
// find it by search, edit its tags, watch a second tab receive the live events (including a
// store made by the CLI in another process), delete it. The Sync view: this node ("office")
// syncs up to a hub that is down, and two spokes ("laptop", "desktop") sync into it with
// concurrent versions of one memory; the view shows the state, the error, both spokes and the
// conflict side by side, and keeping the replaced version makes it current. Screenshots of each
// view go to <build>/dashboard-screenshots/.
// Usage: node dashboard.test.mjs <mcp-memory> <screenshot dir>
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [binary, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), "mcpmem-dash-"));
const apiKey = "dashboard-key-7f3a";
const env = { HOME: dir, MCP_MEMORY_BASE_DIR: dir, MCP_API_KEY: apiKey, MCP_MEMORY_NODE_NAME: "office",
              PATH: process.env.PATH };
const spokeEnv = (node) => ({ ...env, MCP_MEMORY_BASE_DIR: join(dir, node), MCP_MEMORY_NODE_NAME: node });

// A port nothing listens on: the hub this node tries to sync with is down.
const deadHub = await new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const failedSync = spawnSync(binary, ["sync", "--once", "--hub", `http://127.0.0.1:${deadHub}`], { env });
assert.equal(failedSync.status, 1, String(failedSync.stderr));

const server = spawn(binary, ["serve", "--http", "--port", "0", "--replicate", "--replica", join(dir, "replica")],
                     { env, stdio: ["ignore", "ignore", "pipe"] });
const url = await new Promise((resolve, reject) => {
  let seen = "";
  server.on("exit", (code) => reject(new Error(`server exited with ${code}: ${seen}`)));
  server.stderr.on("data", (chunk) => {
    seen += chunk;
    const m = /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
    if (m) resolve(m[1]);
  });
});

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const pageErrors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(e.message));

  await page.goto(url + "/");
  await page.waitForSelector("#key-panel:not([hidden])");
  // This server got its key from MCP_API_KEY: the prompt says so (a key file is named by path,
  // HttpTest.DashboardKeyPromptNamesTheKeyFileTheServerUses), and never shows the key.
  const keySource = await page.textContent("#key-source");
  assert.match(keySource, /MCP_API_KEY/);
  assert.ok(!keySource.includes(apiKey));
  await page.screenshot({ path: join(shots, "1-key.png") });
  await page.fill("#key", "not-the-key");
  await page.click("#key-form button");
  await page.waitForFunction(() => document.querySelector("#key-error").textContent.includes("refused"));

  await page.fill("#key", apiKey);
  await page.click("#key-form button");
  await page.waitForSelector("#app:not([hidden])");
  await page.waitForSelector("#live.on");  // the event stream is connected
  // The lexical default is in use: the stats card says how to get recall by meaning.
  await page.waitForSelector("#model-hint:not([hidden]) >> text=mcp-memory model pull all-MiniLM-L6-v2");

  // A second tab: it shares the stored key, so it opens straight on the app.
  const second = await context.newPage();
  await second.goto(url + "/");
  await second.waitForSelector("#live.on");

  await page.fill("#add-content", "The staging database is restored every Sunday night");
  await page.fill("#add-tags", "ops, staging");
  await page.click("#add-form button");
  await page.waitForSelector("#memories .memory[data-hash] >> text=restored every Sunday");
  await page.screenshot({ path: join(shots, "2-added.png") });
  // The other tab hears about it from /api/events.
  await second.waitForSelector("#toast >> text=Memory stored: The staging database");
  await second.waitForSelector("#memories >> text=restored every Sunday");
  await second.screenshot({ path: join(shots, "3-live-event-second-tab.png") });

  // Find it by meaning, with Ctrl+K to reach the search box.
  await page.keyboard.press("Control+k");
  assert.equal(await page.evaluate(() => document.activeElement.id), "q");
  await page.keyboard.type("when is staging restored");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#list-title >> text=found for “when is staging restored”");
  const first = await page.textContent("#memories .memory .content");
  assert.match(first, /restored every Sunday/);
  await page.screenshot({ path: join(shots, "4-search.png") });

  // Edit its tags.
  const item = page.locator("#memories .memory", { hasText: "restored every Sunday" });
  await item.locator(".edit").click();
  await item.locator(".edit-tags").fill("ops, weekly");
  await item.locator(".edit-form button[type=submit]").click();
  await page.waitForSelector("#memories .memory >> .tag >> text=weekly");
  await second.waitForSelector("#toast >> text=Memory updated");
  await page.screenshot({ path: join(shots, "5-edited.png") });

  // The tag cloud filters the list; a store by the CLI (another process) shows up live.
  await page.click("#tags .tag >> text=weekly");
  await page.waitForSelector("#list-title >> text=Tagged “weekly”");
  execFileSync(binary, ["store", "Written from the terminal while the dashboard watched", "--tags", "cli"], { env });
  await second.waitForSelector("#toast >> text=Memory stored: Written from the terminal");
  await page.click("#show-all");
  await page.waitForSelector("#memories >> text=Written from the terminal");

  // Backups panel.
  await page.click("#backup-now");
  await page.waitForSelector("#backups li >> text=MB");
  // Download gives the file the server keeps; restore makes a new database beside the backups.
  const backupName = await page.getAttribute("#backups li", "data-filename");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#backups li .download")]);
  assert.equal(download.suggestedFilename(), backupName);
  const downloaded = await download.path();
  assert.deepEqual(readFileSync(downloaded), readFileSync(join(dir, "backups", backupName)));
  await page.click("#backups li .restore");
  await page.waitForSelector("#toast >> text=/Restored \\d+ memories to .*restored_/");

  // Delete (confirm dialog accepted); both tabs drop it.
  page.once("dialog", (d) => d.accept());
  await page.locator("#memories .memory", { hasText: "restored every Sunday" }).locator(".delete").click();
  await page.waitForSelector("#toast >> text=Deleted");
  await second.waitForSelector("#toast >> text=Memory deleted");
  await second.waitForFunction(() => !document.querySelector("#memories").textContent.includes("restored every Sunday"));
  await page.screenshot({ path: join(shots, "6-deleted.png") });

  // Sync: two spokes store the same memory (same content hash, different case and tags) without
  // seeing each other and then set its type, and sync into this node: the texts and tags merge,
  // the later type (desktop's) wins, and laptop's is kept as a conflict.
  const laptopText = "Release checklist: see <b>wiki</b>/deploy before Friday";
  const desktopText = "RELEASE CHECKLIST: see <b>wiki</b>/deploy before Friday";
  const hash = createHash("sha256").update(laptopText.toLowerCase()).digest("hex");
  for (const [node, text] of [["laptop", laptopText], ["desktop", desktopText]]) {
    execFileSync(binary, ["store", text, "--tags", `from-${node}`], { env: spokeEnv(node) });
  }
  for (const node of ["laptop", "desktop"]) {
    execFileSync(binary, ["update", hash, "--type", `${node}-type`], { env: spokeEnv(node) });
  }
  for (const node of ["laptop", "desktop"]) {
    execFileSync(binary, ["sync", "--once", "--hub", url], { env: spokeEnv(node) });
  }
  await page.click("#tab-sync");
  // The conflict list is loaded with the status when the view opens: once it shows, so does
  // the status as of now (an earlier status from before the spokes synced may show till then).
  const conflict = page.locator(`#conflicts .conflict[data-hash="${hash}"]`);
  await conflict.waitFor();
  assert.equal(await page.textContent("#sync-node [data-field=node]"), "office");
  // Litestream runs beside this server (--replicate): its replica, generation and lag show.
  assert.equal(await page.textContent("#replication [data-field=running]"), "running");
  assert.equal(await page.textContent("#replication [data-field=where]"), join(dir, "replica"));
  assert.match(await page.textContent("#replication [data-field=generation]"), /^[0-9a-f]{16}$/);
  assert.match(await page.textContent("#replication [data-field=lag]"), /up to date|\d+ s/);
  assert.equal(await page.textContent("#sync-node [data-field=conflicts_unresolved]"), "1");
  assert.match(await page.textContent("#sync-hub [data-field=hub_url]"), new RegExp(`127\\.0\\.0\\.1:${deadHub}`));
  assert.match(await page.textContent("#sync-hub [data-field=last_push_at]"), /just now|ago/);
  assert.equal(await page.textContent("#sync-hub [data-field=last_pull_at]"), "never");
  assert.match(await page.textContent("#sync-hub [data-field=pending_changes]"), /^[1-9]\d*$/);
  assert.equal(await page.textContent("#sync-hub [data-field=lag]"), "never synced");
  assert.ok(await page.isVisible("#sync-hub [data-field=last_error].bad"));
  assert.match(await page.textContent("#sync-error"), new RegExp(`127\\.0\\.0\\.1:${deadHub}`));
  for (const node of ["laptop", "desktop"]) {
    const cells = await page.locator(`#sync-peers tr[data-node=${node}] td`).allTextContents();
    assert.equal(cells[0], node);
    assert.match(cells[1], /just now|ago/);  // last push
    assert.match(cells[2], /just now|ago/);  // last pull
    assert.match(cells[3], /up to date|\d+ changes/);
  }
  assert.equal(await page.textContent("#sync-badge"), "1");
  assert.equal(await page.locator("#conflicts .conflict[data-id]").count(), 1);
  assert.equal(await conflict.locator(".version.winner .content").textContent(), desktopText);
  assert.equal(await conflict.locator(".version.loser .content").textContent(), laptopText);
  assert.equal(await conflict.locator(".version .content b").count(), 0);  // text, never markup
  assert.equal(await conflict.locator(".version.winner [data-field=origin]").textContent(), "desktop");
  assert.equal(await conflict.locator(".version.loser [data-field=origin]").textContent(), "laptop");
  assert.equal(await conflict.locator(".version.loser .tag").textContent(), "from-laptop");
  await page.screenshot({ path: join(shots, "9-sync.png"), fullPage: true });
  await conflict.locator(".version.loser .keep").click();
  await page.waitForSelector("#conflicts >> text=No unresolved conflicts.");
  await page.waitForSelector("#sync-badge", { state: "hidden" });
  const current = await (await fetch(`${url}/api/memories/${hash}`, { headers: { "X-API-Key": apiKey } })).json();
  assert.equal(current.memory_type, "laptop-type");
  assert.equal(current.content, desktopText);
  assert.deepEqual(current.tags, ["from-desktop", "from-laptop"]);
  await page.screenshot({ path: join(shots, "10-sync-resolved.png"), fullPage: true });
  await page.click("#tab-memories");
  await page.waitForSelector("#app:not([hidden])");

  // Dark mode renders with the dark palette.
  await page.emulateMedia({ colorScheme: "dark" });
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, "rgb(18, 21, 27)");
  await page.screenshot({ path: join(shots, "7-dark.png"), fullPage: true });

  // Narrow screens stack the columns.
  await page.setViewportSize({ width: 420, height: 900 });
  await page.screenshot({ path: join(shots, "8-narrow.png"), fullPage: true });
  await page.click("#tab-sync");
  await page.waitForSelector("#conflicts >> text=No unresolved conflicts.");
  await page.screenshot({ path: join(shots, "11-sync-dark-narrow.png"), fullPage: true });

  assert.deepEqual(pageErrors, []);
  console.log(`dashboard e2e: ok (screenshots in ${shots})`);
} finally {
  await browser.close();
  server.kill("SIGTERM");
  await new Promise((r) => server.on("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
