#!/usr/bin/env bash
# Tombstone retention and the full resync (DESIGN §5.2), with real processes over loopback
# HTTPS and a retention window of about 2.6 seconds (MCP_SYNC_TOMBSTONE_RETENTION_DAYS):
# spoke s is away while a deletes X and the window passes, so the hub purges X's tombstone.
# When s comes back it must not keep X (or bring it back): it resyncs in full, drops X, keeps
# and pushes what it made while away, and every node ends with the same memories.
# Usage: sync_retention.sh <path to mcp-memory>
set -euo pipefail
bin=$1
work=$(mktemp -d)
export MCP_API_KEY="retention-key" MCP_BACKUP_ENABLED=false
export MCP_SYNC_TOMBSTONE_RETENTION_DAYS=0.00003  # 2.6 s
source "$(dirname "$0")/sync_lib.sh"
status_of() { on "$1" --json sync status | python3 -c "import json,sys; print(json.load(sys.stdin)$2)"; }

start_hub
on a store "X will be deleted while s is away" --tags x >/dev/null
on a store "Y stays" --tags y >/dev/null
sync_node a; sync_node s
expect_converged "before s goes away" 2 a s
x=$(hash_of a "X will be deleted")

# s away: a deletes X; s stores Z and edits Y; the window passes.
on a delete "$x" >/dev/null
sync_node a
on s store "Z made on s while away" --tags z >/dev/null
sleep 3
sync_node a  # the hub purges X's tombstone on this pull; a purges its own (acknowledged) one
grep -q "$x" <<<"$(state hub)" && fail "the hub still holds X after the window"
grep -q "$x" <<<"$(state a)" && fail "a still holds X after the window"
[[ $(curl -s --cacert "$work/hub/tls/cert.pem" -H "X-API-Key: $MCP_API_KEY" \
      "$hub_url/api/sync/pull?since=0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["purged_seq"])') -gt 0 ]] \
  || fail "the hub does not report a purge"
grep -q $'\talive\t.*X will be deleted' <<<"$(state s)" || fail "s should still hold X before it syncs"

# s comes back: full resync; X is dropped, not pushed back; Z goes to the hub.
sync_node s
[[ $(status_of s '["hub"]["last_resync_at"] is not None') == True ]] || fail "s did not resync"
[[ $(status_of s '["hub"]["resync_pending"]') == False ]] || fail "s left a resync pending"
grep -q "$x" <<<"$(state s)" && fail "s kept X, deleted everywhere else"
sync_node a
expect_converged "after s's full resync" 2 a s
grep -q "Z made on s while away" <<<"$(state a)" || fail "Z, made while away, was lost"

# A resync killed after it pulled everything but before it dropped anything: the durable
# resync_pending makes the next round start over from seq 0 (its cursor alone would not).
on a store "W held by s, then deleted" >/dev/null
sync_node a; sync_node s
w=$(hash_of s "W held by s")
on a delete "$w" >/dev/null
sync_node a
sleep 3
sync_node a
head=$(curl -s --cacert "$work/hub/tls/cert.pem" -H "X-API-Key: $MCP_API_KEY" \
  "$hub_url/api/sync/pull?since=0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["head"])')
python3 - "$work/s/sqlite_vec.db" "$head" <<'PY2'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(v,) = db.execute("SELECT value FROM meta WHERE key = 'sync.hub'").fetchone()
c = json.loads(v)
c["resync_pending"] = True
c["pull_seq"] = int(sys.argv[2])  # past the purge: only the pending flag calls for the resync
db.execute("UPDATE meta SET value = ? WHERE key = 'sync.hub'", (json.dumps(c),))
db.commit()
PY2
grep -q "$w" <<<"$(state s)" || fail "s should hold W before the resumed resync"
sync_node s
grep -q "$w" <<<"$(state s)" && fail "the resumed resync kept W"
expect_converged "a resync cut short, then run again" 2 a s
echo "PASS"
