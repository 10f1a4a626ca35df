#!/usr/bin/env bash
# Three real nodes on loopback: a hub (`serve --https`, self-signed certificate, API key) and
# two spokes running `mcp-memory sync --once` against it, trusting the hub's certificate with
# --hub-ca. After every step all three must hold the same (content_hash, version, deleted) set
# and the same contents. Steps: stores on both spokes; concurrent updates (same winner
# everywhere, loser in sync_conflicts); a delete, then an old export re-imported (no
# resurrection); a spoke offline through 1,000 changes; kill -9 of a spoke and of the hub
# mid-sync; a spoke whose clock is 10 minutes fast (faketime); a spoke that serves HTTP and
# syncs in the background (serve --hub-url).
# Usage: sync_three_nodes.sh <path to mcp-memory>
set -euo pipefail
bin=$1
work=$(mktemp -d)
export MCP_API_KEY="three-node-key" MCP_BACKUP_ENABLED=false
source "$(dirname "$0")/sync_lib.sh"
# A Python-format export file of N memories tagged with the given tag.
make_file() {
  python3 - "$1" "$2" "$3" <<'PY'
import hashlib, json, sys, time
path, n, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
now = time.time()
mems = []
for i in range(n):
    c = f"{tag} generated memory number {i} about topic {i % 37}"
    mems.append({"content": c, "content_hash": hashlib.sha256(c.strip().lower().encode()).hexdigest(),
                 "tags": [tag], "created_at": now - i, "updated_at": now - i,
                 "memory_type": "note", "metadata": {}, "export_source": tag})
json.dump({"export_metadata": {"source_machine": tag, "total_memories": n}, "memories": mems},
          open(path, "w"))
PY
}

start_hub
[[ $(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/hub/tls/cert.pem" \
      "$hub_url/api/sync/pull") == 401 ]] || fail "sync routes answer without a key"
if MCP_API_KEY=wrong on a sync --hub "$hub_url" --hub-ca "$work/hub/tls/cert.pem" --once \
     2>"$work/err"; then fail "a wrong key synced"; fi
grep -q "refused the API key" "$work/err" || fail "wrong key error: $(cat "$work/err")"
if on a sync --hub "$hub_url" --once 2>"$work/err"; then fail "synced without trusting the certificate"; fi

# 1. Stores on both spokes converge.
for i in 1 2 3; do
  on a store "alpha note $i about deploys" --tags alpha >/dev/null
  on b store "beta note $i about backups" --tags beta >/dev/null
done
sync_node a; sync_node b; sync_node a
expect_converged "stores" 6 a b

# 2. Concurrent updates: tags added on both sides merge; the type set on both sides conflicts,
#    and b edits last, so b's type wins on every node and a's is kept as a conflict.
x=$(hash_of a "alpha note 1")
on a update "$x" --tags alpha,from-a --type from-a >/dev/null
sleep 0.01
on b update "$x" --tags alpha,from-b --type from-b >/dev/null
sync_node a; sync_node b; sync_node a
expect_converged "concurrent updates" 6 a b
for n in a b hub; do
  grep -q $'\tfrom-b\talpha,from-a,from-b\t' <<<"$(state $n)" || fail "$n did not merge the edits"
done
on hub --json sync conflicts | grep -q '"from-a"' || fail "the hub did not keep a's losing version"
on hub --json sync conflicts | grep -q '"memory_type"' || fail "the conflict does not name the field"

# 2b. The conflict is one fact everywhere: both spokes got the hub's record; resolving it on a
#     (keep the loser: a's type) resolves it on the hub and on b, and every node holds a's type.
conflicts() { on "$1" --json sync conflicts "${@:2}"; }
uid=$(conflicts hub | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["uid"])')
for n in a b; do
  [[ $(conflicts $n | python3 -c 'import json,sys; print([c["uid"] for c in json.load(sys.stdin)])') \
     == "['$uid']" ]] || fail "$n does not have the hub's conflict"
done
id_a=$(conflicts a | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
on a sync conflicts | grep -q "differs in memory_type" || fail "the summary does not say what differs"
out=$(on a sync conflicts --resolve "$id_a" --keep loser)
grep -q "the memory now holds: memory_type: from-a" <<<"$out" || fail "resolve said: $out"
sync_node a; sync_node b; sync_node a
for n in a b hub; do
  [[ $(conflicts $n) == "[]" ]] || fail "$n still has the conflict unresolved"
  conflicts $n --all | grep -q '"resolved_by": "a"' || fail "$n: not resolved by a"
done
expect_converged "a conflict resolved on a spoke" 6 a b
grep -q $'\tfrom-a\talpha,from-a,from-b\t' <<<"$(state hub)" || fail "the loser's type is not current"

# 3. A delete propagates; an old export imported later does not bring it back.
y=$(hash_of b "beta note 2")
on b export -o "$work/old-b.json" >/dev/null
on a delete "$y" >/dev/null
sync_node a; sync_node b
on b import "$work/old-b.json" >/dev/null
sync_node b; sync_node a
expect_converged "delete + old export re-imported" 5 a b
grep -q "^$y"$'\t.*\tdeleted$' <<<"$(state hub)" || fail "the delete did not hold"

# 4. b offline while a makes 1,000 changes; b catches up.
make_file "$work/gen1.json" 1000 offline-batch
on a import --no-source-tags "$work/gen1.json" >/dev/null
sync_node a; sync_node b
expect_converged "1,000 changes while b was offline" 1005 a b

# 5a. kill -9 of a spoke mid-sync, then again: nothing lost or doubled.
make_file "$work/gen2.json" 3000 crash-spoke
on a import --no-source-tags "$work/gen2.json" >/dev/null
on a sync --hub "$hub_url" --hub-ca "$work/hub/tls/cert.pem" --once >/dev/null 2>&1 &
spoke=$!
sleep 0.15
kill -9 "$spoke" 2>/dev/null || true
wait "$spoke" 2>/dev/null || true
sync_node a; sync_node b; sync_node a
expect_converged "spoke killed mid-sync" 4005 a b

# 5b. kill -9 of the hub mid-sync, restart on the same port.
make_file "$work/gen3.json" 3000 crash-hub
on b import --no-source-tags "$work/gen3.json" >/dev/null
on b sync --hub "$hub_url" --hub-ca "$work/hub/tls/cert.pem" --once >/dev/null 2>&1 &
spoke=$!
sleep 0.15
kill -9 "$hub_pid"
wait "$hub_pid" 2>/dev/null || true
wait "$spoke" 2>/dev/null || true
start_hub
[[ $(on hub --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_memories"])') -le 7005 ]] \
  || fail "hub has more memories than were made"
sync_node b; sync_node a; sync_node b
expect_converged "hub killed mid-sync" 7005 a b
[[ $(sqlite3 "$work/hub/sqlite_vec.db" "PRAGMA integrity_check") == ok ]] || fail "hub integrity"

# 6. a's clock runs 10 minutes fast: its edit wins over an older one, and b's next edit,
#    made after b saw a's version, still wins over it (the HLC moved b past a's clock).
z=$(hash_of a "alpha note 3")
faketime -f "+10m" env MCP_MEMORY_BASE_DIR="$work/a" MCP_MEMORY_NODE_NAME=a "$bin" update "$z" --tags fast-clock >/dev/null
faketime -f "+10m" env MCP_MEMORY_BASE_DIR="$work/a" MCP_MEMORY_NODE_NAME=a "$bin" \
  sync --hub "$hub_url" --hub-ca "$work/hub/tls/cert.pem" --once >/dev/null
sync_node b
grep -q $'\tfast-clock\t' <<<"$(state b)" || fail "b did not take the fast clock's edit"
on b update "$z" --tags after-skew >/dev/null
sync_node b
faketime -f "+10m" env MCP_MEMORY_BASE_DIR="$work/a" MCP_MEMORY_NODE_NAME=a "$bin" \
  sync --hub "$hub_url" --hub-ca "$work/hub/tls/cert.pem" --once >/dev/null
expect_converged "one clock 10 minutes fast" 7005 a b
for n in a b hub; do
  grep -q $'\tafter-skew\t' <<<"$(state $n)" || fail "$n lost the edit made after the skewed one"
done

on a sync status | grep -q "pending changes:    0" || fail "a still has pending changes"

# 6b. Issue 13's reproduction: after the fast clock's version, two quick edits on the hub (each
#     its own process, beside the running server) and then a delete must each reach b; the
#     second used to repeat the first's version and be dropped as "unchanged".
on hub update "$z" --tags a >/dev/null
sync_node b
on hub update "$z" --tags b >/dev/null
sync_node b
grep -q $'\tb\talpha note 3 about deploys$' <<<"$(state b)" || fail "b kept an older edit: $(state b | grep "^$z")"
expect_converged "two quick edits after a fast clock" 7005 b
on hub delete "$z" >/dev/null
sync_node b; sync_node a
expect_converged "a delete after a fast clock" 7004 a b

# 6c. A key holder cannot poison the clock: versions far ahead, times past the year 9999, a
#     pinned counter and content over the limit are refused whole (422), the hub's clock stays
#     where it was, and the spokes keep syncing.
push() {
  curl -s -o "$work/push.out" -w '%{http_code}' --cacert "$work/hub/tls/cert.pem" \
    -H "X-API-Key: $MCP_API_KEY" -H 'Content-Type: application/json' --data-binary @- \
    "$hub_url/api/sync/push"
}
now_s=$(date +%s)
for record in \
  '{"content":"poison: updated_at 9e15","created_at":1,"updated_at":9e15}' \
  '{"content":"poison: pinned clock","created_at":1,"hlc":"999999999999999-ffffffff-x"}' \
  "{\"content\":\"poison: two hours ahead\",\"created_at\":$now_s,\"hlc\":\"$(printf '%015d' $(( (now_s + 7200) * 1000 )))-00000000-x\"}" \
  '{"content":"poison: created_at 1e300","created_at":1e300}'; do
  code=$(echo "{\"node\":\"mallory\",\"versions\":[$record]}" | push)
  [[ "$code" == 422 ]] || fail "a poisoned push got $code: $record"
done
python3 -c 'import json; print(json.dumps({"node": "mallory", "versions": [{"content": "x" * (3 << 20), "created_at": 1}]}))' \
  | push | grep -q 422 || fail "3 MiB of content was accepted"
on hub store "written on the hub after the attacks" >/dev/null
hub_version=$(state hub | grep "written on the hub after" | cut -f2)
(( 10#${hub_version:0:15} < (now_s + 600) * 1000 )) || fail "the hub's clock moved: $hub_version"
sync_node a; sync_node b; sync_node a
expect_converged "after refused poisoning attacks" 7005 a b
# Converged nodes say so the same way: the same last_modified (the newest change in the data,
# not each node's apply time) and the same data digest.
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
lm=$(on hub --json stats | field '["last_modified"]')
for n in a b; do
  [[ $(on $n --json stats | field '["last_modified"]') == "$lm" ]] || fail "$n reports another last_modified"
done
detailed=$(curl -s --cacert "$work/hub/tls/cert.pem" -H "X-API-Key: $MCP_API_KEY" "$hub_url/api/health/detailed")
[[ $(field '["data_digest"]["alive"]' <<<"$detailed") == 7005 ]] || fail "digest: $detailed"
[[ $(field '["data_digest"]["hash"]' <<<"$detailed") =~ ^[0-9a-f]{32}$ ]] || fail "digest: $detailed"

# 7. b as a server syncing in the background (serve --http --hub-url): a memory stored through
#    its REST API reaches a, and one stored on a reaches b, with no sync command run for b.
bport=$(free_port)
MCP_MEMORY_BASE_DIR="$work/b" MCP_MEMORY_NODE_NAME=b "$bin" serve --http --port "$bport" \
  --hub-url "$hub_url" --hub-ca "$work/hub/tls/cert.pem" --sync-interval 1 2>"$work/b.log" &
b_pid=$!
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$bport/api/health" && break; sleep 0.05; done
curl -sf -X POST -H "X-API-Key: $MCP_API_KEY" -H 'Content-Type: application/json' \
  -d '{"content": "stored through b while it serves", "tags": ["served"]}' \
  "http://127.0.0.1:$bport/api/memories" >/dev/null || fail "store on serving b"
on a store "stored on a for the serving b" --tags for-b >/dev/null
sync_node a
arrived=
for _ in $(seq 100); do
  sync_node a
  if on a --json search "stored through b while it serves" --mode exact | grep -q served &&
     on b --json search "stored on a for the serving b" --mode exact | grep -q for-b; then
    arrived=yes; break
  fi
  sleep 0.1
done
[[ -n "$arrived" ]] || { cat "$work/b.log"; fail "serve --hub-url did not sync within 10 s"; }
kill -TERM "$b_pid"; wait "$b_pid" || fail "serving b did not stop cleanly"
grep -q "syncing with $hub_url" "$work/b.log" || fail "serve did not say it syncs"
expect_converged "serve --hub-url syncing in the background" 7007 a b
echo "PASS"
