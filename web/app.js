// The mcp-memory dashboard: plain JavaScript against the REST API, no build step, no CDN.
// The API key lives in localStorage and goes out as X-API-Key (and as ?api_key= for the
// EventSource, which cannot send headers). Memory text is only ever set with textContent.
// Two views, chosen by the URL fragment: memories (#memories, the default) and sync (#sync).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { page: 1, pageSize: 20, tag: "", results: null, lastSearch: null };
let events = null;

function key() { return localStorage.getItem("mcp-memory-key") || ""; }

async function api(path, options = {}) {
  const headers = Object.assign({ "X-API-Key": key() }, options.body ? { "Content-Type": "application/json" } : {});
  const res = await fetch(path, Object.assign({}, options, { headers }));
  let body = null;
  try { body = await res.json(); } catch (_) { /* empty body */ }
  if (res.status === 401) { showKeyPanel("That key was refused."); throw new Error("unauthorized"); }
  if (!res.ok) throw new Error((body && body.detail) || `HTTP ${res.status}`);
  return body;
}

function toast(text) {
  const div = document.createElement("div");
  div.textContent = text;
  $("toast").appendChild(div);
  setTimeout(() => div.remove(), 4000);
}

function when(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleString();
}

function splitTags(text) {
  return text.split(/[,\s]+/).map((t) => t.trim()).filter(Boolean);
}

function tagButton(tag, count) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "tag";
  b.textContent = tag;
  if (count !== undefined) {
    const small = document.createElement("small");
    small.textContent = count;
    b.appendChild(small);
  }
  b.addEventListener("click", () => {
    state.tag = tag; state.page = 1; state.results = state.lastSearch = null; loadList();
  });
  return b;
}

function renderMemory(m, score) {
  const li = $("memory-template").content.firstElementChild.cloneNode(true);
  li.dataset.hash = m.content_hash;
  li.querySelector(".content").textContent = m.content;
  li.querySelector(".type").textContent = m.memory_type || "";
  li.querySelector(".when").textContent = when(m.created_at_iso);
  li.querySelector(".score").textContent = score !== undefined ? `score ${score.toFixed(3)}` : "";
  const tags = li.querySelector(".mtags");
  for (const t of m.tags) tags.appendChild(tagButton(t));
  const form = li.querySelector(".edit-form");
  li.querySelector(".edit").addEventListener("click", () => {
    form.hidden = !form.hidden;
    form.querySelector(".edit-tags").value = m.tags.join(", ");
    form.querySelector(".edit-type").value = m.memory_type || "";
    if (!form.hidden) form.querySelector(".edit-tags").focus();
  });
  form.querySelector(".cancel").addEventListener("click", () => { form.hidden = true; });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api(`/api/memories/${m.content_hash}`, { method: "PUT", body: JSON.stringify({
        tags: splitTags(form.querySelector(".edit-tags").value),
        memory_type: form.querySelector(".edit-type").value.trim() || null }) });
      toast("Saved");
      refresh();
    } catch (err) { toast(`Not saved: ${err.message}`); }
  });
  li.querySelector(".delete").addEventListener("click", async () => {
    if (!confirm("Delete this memory? It is kept as a tombstone so the delete reaches your other machines.")) return;
    try {
      await api(`/api/memories/${m.content_hash}`, { method: "DELETE" });
      toast("Deleted");
      refresh();
    } catch (err) { toast(`Not deleted: ${err.message}`); }
  });
  return li;
}

function showMemories(items, title) {
  const list = $("memories");
  list.replaceChildren(...items.map(([m, score]) => renderMemory(m, score)));
  $("list-title").textContent = title;
  $("show-all").hidden = !(state.tag || state.results);
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "memory meta";
    li.textContent = "Nothing here yet.";
    list.appendChild(li);
  }
}

async function loadList() {
  if (state.results) return showResults();
  const tag = state.tag ? `&tag=${encodeURIComponent(state.tag)}` : "";
  const r = await api(`/api/memories?page=${state.page}&page_size=${state.pageSize}${tag}`);
  showMemories(r.memories.map((m) => [m]), state.tag ? `Tagged “${state.tag}”` : "Memories");
  const pages = Math.max(1, Math.ceil(r.total / state.pageSize));
  $("page-info").textContent = `page ${r.page} of ${pages} · ${r.total} memories`;
  $("prev").disabled = state.page <= 1;
  $("next").disabled = !r.has_more;
}

function showResults() {
  const r = state.results;
  const tw = r.time_window;  // the window a time in the query (or the time box) gave the search
  const within = tw ? `, ${tw.expression}: ${when(tw.start_iso)} – ${when(tw.end_iso)}` : "";
  showMemories(r.results.map((h) => [h.memory, h.similarity_score]),
               `${r.total_found} found for “${r.query}” (${r.search_type}${within}, ${r.processing_time_ms.toFixed(1)} ms)`);
  $("page-info").textContent = "";
  $("prev").disabled = $("next").disabled = true;
}

// Runs the search in the form, or (`again`) the last one, so edits and live events refresh
// the results on screen instead of showing stale copies.
async function search(again = false) {
  if (!again) {
    const query = $("q").value.trim();
    const time = $("time-filter").value.trim();
    const tags = splitTags($("tag-filter").value);
    if (!query && !time && !tags.length) { state.results = state.lastSearch = null; return loadList(); }
    if (!query && time && !tags.length) {
      state.lastSearch = ["/api/search/by-time", { query: time, n_results: 50 }];
    } else if (!query) {
      state.lastSearch = ["/api/search/by-tag", { tags, time_filter: time || null }];
    } else {
      state.lastSearch = ["/api/search", { query, n_results: 20, mode: $("mode").value, tags, time_expr: time }];
    }
  }
  try {
    const [path, body] = state.lastSearch;
    state.results = await api(path, { method: "POST", body: JSON.stringify(body) });
    showResults();
  } catch (err) { toast(`Search failed: ${err.message}`); }
}

// Fills a <dl> from [label, value, extra] rows; extra may give the <dd> a field name (for
// tests and styles), a title (e.g. the exact time behind "5 min ago") and a class.
function fillList(dl, rows) {
  dl.replaceChildren(...rows.flatMap(([k, v, extra = {}]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    if (extra.field) dd.dataset.field = extra.field;
    if (extra.title) dd.title = extra.title;
    if (extra.className) dd.className = extra.className;
    return [dt, dd];
  }));
}

async function loadStats() {
  const h = await api("/api/health/detailed");
  fillList($("stats"), [["memories", h.memory_count], ["tags", h.statistics.unique_tags],
                        ["this week", h.statistics.memories_this_week], ["size", `${h.statistics.database_size_mb} MB`],
                        ["model", h.storage.embedding_model], ["version", h.version]]);
  // The lexical default finds shared words, not meaning: say how to get recall by meaning.
  const lexical = String(h.storage.embedding_model).startsWith("hash-");
  $("model-hint").hidden = !lexical;
}

async function loadTags() {
  const r = await api("/api/tags");
  $("tags").replaceChildren(...r.tags.slice(0, 60).map((t) => tagButton(t.tag, t.count)));
}

// The file as the server keeps it (the key goes in a header, so not a plain link).
async function downloadBackup(filename) {
  const res = await fetch(`/api/backup/download/${encodeURIComponent(filename)}`, { headers: { "X-API-Key": key() } });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url; a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function loadBackups() {
  const r = await api("/api/backup/list");
  $("backups").replaceChildren(...r.backups.slice(0, 8).map((b) => {
    const li = document.createElement("li");
    const name = document.createElement("span"); name.textContent = when(b.created_at);
    const size = document.createElement("span");
    size.textContent = `${(b.size_bytes / 1048576).toFixed(1)} MB${b.encrypted ? ", encrypted" : ""}`;
    const download = document.createElement("button");
    download.className = "link download"; download.type = "button"; download.textContent = "Download";
    download.addEventListener("click", () => downloadBackup(b.filename).catch((err) => toast(`Download failed: ${err.message}`)));
    const restore = document.createElement("button");
    restore.className = "link restore"; restore.type = "button"; restore.textContent = "Restore to new file";
    restore.title = "Rebuild this backup as a new database file beside the backups; the live database is not touched";
    restore.addEventListener("click", async () => {
      try {
        const r = await api("/api/backup/restore", { method: "POST", body: JSON.stringify({ filename: b.filename }) });
        toast(`Restored ${r.memories} memories to ${r.path}`);
      } catch (err) { toast(`Restore failed: ${err.message}`); }
    });
    li.dataset.filename = b.filename;
    li.append(name, size, download, restore);
    return li;
  }));
  if (!r.backups.length) {
    const li = document.createElement("li"); li.textContent = "No backups yet."; $("backups").appendChild(li);
  }
}

// ---- Sync view: this node's sync state (GET /api/sync/status) and unresolved conflicts ----

function duration(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

function ago(iso) {
  if (!iso) return "never";
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  if (isNaN(seconds)) return "";
  return seconds < 5 ? "just now" : `${duration(seconds)} ago`;  // (a server clock ahead of ours: "just now")
}

const timeRow = (label, iso, field) => [label, ago(iso), { field, title: iso ? when(iso) : "" }];

function renderSyncStatus(s) {
  fillList($("sync-node"), [["node", s.node, { field: "node" }],
                            ["memories", `${s.memory_count} (${s.tombstones} deleted)`, { field: "memory_count" }],
                            ["change log", s.head_seq, { field: "head_seq" }],
                            ["unresolved conflicts", s.conflicts_unresolved, { field: "conflicts_unresolved" }]]);
  const h = s.hub;
  $("sync-no-hub").hidden = !!h;
  $("sync-error").hidden = !(h && h.last_error);
  if (h) {
    fillList($("sync-hub"), [["hub", h.hub_node ? `${h.url} (${h.hub_node})` : h.url, { field: "hub_url" }],
                             timeRow("last push", h.last_push_at, "last_push_at"),
                             timeRow("last pull", h.last_pull_at, "last_pull_at"),
                             ["pending changes", h.pending_changes, { field: "pending_changes" }],
                             ["lag", h.lag_seconds === null ? "never synced" : duration(h.lag_seconds), { field: "lag" }],
                             ["last error", h.last_error ? ago(h.last_error_at) : "none",
                              { field: "last_error", className: h.last_error ? "bad" : "" }]]);
    $("sync-error").textContent = h.last_error || "";
  } else {
    $("sync-hub").replaceChildren();
  }
  $("sync-peers").hidden = !s.peers.length;
  $("sync-no-peers").hidden = !!s.peers.length;
  $("sync-peers").tBodies[0].replaceChildren(...s.peers.map((p) => {
    const tr = document.createElement("tr");
    tr.dataset.node = p.node;
    for (const [text, iso] of [[p.node], [ago(p.last_push_at), p.last_push_at], [ago(p.last_pull_at), p.last_pull_at]]) {
      const td = document.createElement("td");
      td.textContent = text;
      if (iso) td.title = when(iso);
      tr.appendChild(td);
    }
    const behind = document.createElement("td");
    behind.textContent = p.behind ? `${p.behind} changes` : "up to date";
    behind.title = "Changes here that node has not confirmed having yet (a pull confirms what came before it)";
    tr.appendChild(behind);
    return tr;
  }));
  const badge = $("sync-badge");
  badge.textContent = s.conflicts_unresolved;
  badge.hidden = !s.conflicts_unresolved;
  $("sync-checked").textContent = `checked ${new Date().toLocaleTimeString()}`;
}

// One side of a conflict. `other` is the opposite side: what differs from it is marked.
function renderVersion(v, other, side, onKeep) {
  const el = $("version-template").content.firstElementChild.cloneNode(true);
  el.classList.add(side);
  const deleted = v.deleted_at !== undefined;
  el.querySelector(".label").textContent = side === "winner" ? "Current version (won)" : "Replaced version (lost)";
  const content = el.querySelector(".content");
  content.textContent = deleted ? "(deleted)" : v.content;
  content.classList.toggle("differs", deleted !== (other.deleted_at !== undefined) || v.content !== other.content);
  const tags = el.querySelector(".mtags");
  for (const t of v.tags || []) {
    const span = document.createElement("span"); span.className = "tag static"; span.textContent = t;
    tags.appendChild(span);
  }
  tags.classList.toggle("differs", JSON.stringify(v.tags) !== JSON.stringify(other.tags));
  const changed = new Date((deleted ? v.deleted_at : v.updated_at) * 1000);
  fillList(el.querySelector(".fields"), [["version", v.hlc || "—", { field: "hlc" }],
                                         ["origin", v.origin || "—", { field: "origin" }],
                                         ["type", v.memory_type || "—", { field: "memory_type" }],
                                         [deleted ? "deleted" : "updated", when(changed), { field: "changed" }]]);
  el.querySelector(".keep").addEventListener("click", onKeep);
  return el;
}

let shownConflicts = "";  // ids on screen: the list is only rebuilt when they change
function renderConflicts(r) {
  const title = `Unresolved conflicts (${r.unresolved})`;
  $("conflicts-title").textContent = r.conflicts.length < r.unresolved ? `${title}, newest ${r.conflicts.length} shown` : title;
  const ids = r.conflicts.map((c) => c.id).join(",");
  if (ids === shownConflicts && $("conflicts").childElementCount) return;
  shownConflicts = ids;
  $("conflicts").replaceChildren(...r.conflicts.map((c) => {
    const li = $("conflict-template").content.firstElementChild.cloneNode(true);
    li.dataset.id = c.id;
    li.dataset.hash = c.content_hash;
    li.querySelector(".conflict-head").textContent =
      `#${c.id} · ${c.content_hash.slice(0, 12)} · ${when(c.detected_at)} · from ${c.source}`;
    const keep = (side) => () => resolveConflict(c, side, li);
    li.querySelector(".versions").append(renderVersion(c.winner || {}, c.loser || {}, "winner", keep("winner")),
                                         renderVersion(c.loser || {}, c.winner || {}, "loser", keep("loser")));
    return li;
  }));
  if (!r.conflicts.length) {
    const li = document.createElement("li");
    li.className = "conflict meta";
    li.textContent = "No unresolved conflicts.";
    $("conflicts").appendChild(li);
  }
}

async function resolveConflict(c, side, li) {
  for (const b of li.querySelectorAll("button")) b.disabled = true;
  try {
    await api(`/api/sync/conflicts/${c.id}/resolve`, { method: "POST", body: JSON.stringify({ keep: side }) });
    toast(side === "loser" ? "Kept the replaced version: it is current now" : "Kept the current version");
  } catch (err) {
    toast(`Not resolved: ${err.message}`);
    for (const b of li.querySelectorAll("button")) b.disabled = false;
  }
  loadSync().catch(() => {});
  refresh();
}

function syncVisible() { return !$("sync-view").hidden; }

// Status always (it feeds the tab's conflict count); conflicts only while the view is open.
// Polls, events and clicks overlap: only the latest load renders, so an answer that left
// before a resolve cannot bring the settled conflict back.
let syncLoads = 0;
async function loadSync() {
  const mine = ++syncLoads;
  const status = await api("/api/sync/status");
  const conflicts = syncVisible() ? await api("/api/sync/conflicts?limit=100") : null;
  const replication = syncVisible() ? await api("/api/replication/status") : null;
  if (mine !== syncLoads) return;
  renderSyncStatus(status);
  if (conflicts) renderConflicts(conflicts);
  if (replication) renderReplication(replication);
}

const bytes = (n) => (n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);

// Litestream beside this server (GET /api/replication/status): per replica where it goes, the
// generation, when it last shipped, the lag and the size; the first replica's fields are named
// plainly, the next ones with their index (generation-1, ...).
function renderReplication(r) {
  $("replication-off").hidden = r.enabled;
  if (!r.enabled) { $("replication").replaceChildren(); return; }
  const rows = [];
  if (r.supervised) {
    rows.push(["litestream", r.running ? "running" : `not running (${r.restarts} restarts)`,
               { field: "running", className: r.running ? "" : "bad" }]);
  }
  if (r.last_error) rows.push(["last error", r.last_error, { field: "last_error", className: "bad" }]);
  r.replicas.forEach((x, i) => {
    const f = (name) => (i ? `${name}-${i}` : name);
    rows.push([x.name, x.where, { field: f("where") }]);
    if (x.last_error) {
      rows.push(["error", x.last_error, { field: f("error"), className: "bad" }]);
      return;
    }
    rows.push(["generation", x.generation || "nothing replicated yet", { field: f("generation") }],
              timeRow("last replicated", x.last_replicated_at, f("last_replicated_at")),
              ["lag", x.lag_seconds === null ? "unknown" : x.lag_seconds === 0 ? "up to date" : duration(x.lag_seconds),
               { field: f("lag"), className: x.lag_seconds > 60 ? "bad" : "" }],
              ["size", `${bytes(x.size_bytes)} in ${x.snapshots} snapshots, ${x.wal_segments} WAL segments`,
               { field: f("size") }]);
  });
  fillList($("replication"), rows);
}

function showView() {
  const sync = location.hash === "#sync";
  $("app").hidden = sync;
  $("sync-view").hidden = !sync;
  $("tab-memories").setAttribute("aria-current", sync ? "false" : "page");
  $("tab-sync").setAttribute("aria-current", sync ? "page" : "false");
}

let refreshTimer = null;
function refresh() {  // coalesces bursts of events into one reload
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    (state.lastSearch && state.results ? search(true) : loadList()).catch(() => {});
    loadStats().catch(() => {});
    loadTags().catch(() => {});
    loadSync().catch(() => {});
  }, 150);
}

function connectEvents() {
  if (events) events.close();
  events = new EventSource(`/api/events?api_key=${encodeURIComponent(key())}`);
  events.addEventListener("open", () => { $("live").textContent = "live"; $("live").classList.add("on"); });
  events.addEventListener("error", () => { $("live").textContent = "reconnecting"; $("live").classList.remove("on"); });
  for (const type of ["memory_stored", "memory_updated", "memory_deleted"]) {
    events.addEventListener(type, (e) => {
      const d = JSON.parse(e.data);
      const what = type.replace("memory_", "");
      toast(`Memory ${what}: ${d.content_preview || d.content_hash.slice(0, 12)}`);
      refresh();
    });
  }
}

function showKeyPanel(message) {
  $("key-panel").hidden = false;
  $("app").hidden = $("sync-view").hidden = $("tabs").hidden = true;
  $("key-error").textContent = message || "";
  $("key").focus();
}

async function start() {
  if (!key()) return showKeyPanel();
  try {
    await loadStats();
  } catch (err) { if (err.message !== "unauthorized") showKeyPanel(err.message); return; }
  $("key-panel").hidden = true;
  $("tabs").hidden = false;
  showView();
  await Promise.all([loadList(), loadTags(), loadBackups(), loadSync()]).catch((err) => toast(err.message));
  connectEvents();
}

// The sync view also polls: last push/pull times and lag change without any event here.
setInterval(() => {
  if (syncVisible() && !document.hidden) loadSync().catch(() => {});
}, 5000);
window.addEventListener("hashchange", () => {
  if ($("tabs").hidden) return;  // no key yet
  showView();
  if (syncVisible()) loadSync().catch((err) => toast(`Sync status: ${err.message}`));
});
$("sync-refresh").addEventListener("click", () => loadSync().catch((err) => toast(err.message)));

$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  localStorage.setItem("mcp-memory-key", $("key").value.trim());
  $("key").value = "";
  start();
});
$("forget-key").addEventListener("click", () => {
  localStorage.removeItem("mcp-memory-key");
  if (events) events.close();
  showKeyPanel();
});
$("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  if (location.hash === "#sync") location.hash = "#memories";
  search();
});
$("show-all").addEventListener("click", () => {
  state.tag = ""; state.results = state.lastSearch = null; state.page = 1; $("q").value = ""; loadList();
});
$("prev").addEventListener("click", () => { state.page = Math.max(1, state.page - 1); loadList(); });
$("next").addEventListener("click", () => { state.page += 1; loadList(); });
$("add-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const r = await api("/api/memories", { method: "POST", body: JSON.stringify({
      content: $("add-content").value, tags: splitTags($("add-tags").value),
      memory_type: $("add-type").value.trim() || null }) });
    toast(r.success ? "Stored" : r.message);
    if (r.success) {
      $("add-content").value = ""; $("add-tags").value = ""; state.results = state.lastSearch = null; refresh();
    }
  } catch (err) { toast(`Not stored: ${err.message}`); }
});
$("backup-now").addEventListener("click", async () => {
  try {
    const r = await api("/api/backup/now", { method: "POST", body: "{}" });
    toast(`Backup ${r.filename} made`);
    loadBackups();
  } catch (err) { toast(`Backup failed: ${err.message}`); }
});
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") { e.preventDefault(); $("q").focus(); $("q").select(); }
  if (e.key === "Escape" && document.activeElement === $("q")) {
    $("q").value = ""; state.results = state.lastSearch = null; loadList();
  }
});
start();
