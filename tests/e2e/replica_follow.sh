#!/usr/bin/env bash
# The guide's Phase 2 made real over HTTPS: a hub runs `serve --https --replicate --replica
# REP/mcp-memory --replica-dir REP` (Litestream replicating, REP served at /litestream/ behind
# the API key); a laptop runs `replica follow --once --from https://HUB/litestream/mcp-memory`
# with the hub's self-signed certificate and key and gets the same memories; without the key,
# or without trusting the certificate, it is refused and nothing is written at --db. Then a
# follower every second while the hub stores 100 memories, and a reader running
# `mcp-memory list` on the followed copy the whole time: every read succeeds, counts never go
# back, and the follower ends with all of them. SIGTERM ends the follower cleanly (exit 0, its
# state file gone).
# Usage: replica_follow.sh <path to mcp-memory>
set -euo pipefail
binary=$1
work=$(mktemp -d)
hub_pid= follower_pid=
cleanup() {
  [[ -n "$follower_pid" ]] && kill "$follower_pid" 2>/dev/null && wait "$follower_pid" 2>/dev/null
  [[ -n "$hub_pid" ]] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- hub log"; tail -20 "$work/hub.log"
  [[ -f "$work/follow.log" ]] && { echo "--- follower log"; tail -20 "$work/follow.log"; }
  exit 1
}

key="replica-key-$RANDOM$RANDOM"
printf '%s\n' "$key" >"$work/key"
mkdir -p "$work/hub" "$work/laptop"
MCP_MEMORY_BASE_DIR="$work/hub" MCP_API_KEY="$key" "$binary" serve --https --port 0 \
  --replicate --replica "$work/rep/mcp-memory" --replica-dir "$work/rep" >/dev/null 2>"$work/hub.log" &
hub_pid=$!
url=
for _ in $(seq 200); do
  url=$(grep -o 'serving https://127\.0\.0\.1:[0-9]*' "$work/hub.log" | head -1 | cut -d' ' -f2 || true)
  [[ -n "$url" ]] && break
  sleep 0.05
done
[[ -n "$url" ]] || fail "hub did not start"
ca="$work/hub/tls/cert.pem"
store() {
  curl -sS --fail --cacert "$ca" -H "X-API-Key: $key" -H 'Content-Type: application/json' \
    -d "{\"content\":\"$1\",\"tags\":[\"replica\"]}" "$url/api/memories" >/dev/null
}
for i in 1 2 3 4 5; do store "hub memory number $i before the laptop follows"; done

# The laptop's commands see no key in the environment: only --api-key-file gives one.
# (env execs the binary, so $! of a background one is the follower's own pid.)
laptop_env=(env -u MCP_API_KEY MCP_MEMORY_BASE_DIR="$work/laptop")
laptop() { "${laptop_env[@]}" "$binary" "$@"; }
from="$url/litestream/mcp-memory"

# Refused without the key, and with a certificate it does not trust: nothing at --db.
if laptop replica follow --once --from "$from" --hub-ca "$ca" --db "$work/laptop/nokey.db" \
  2>"$work/nokey.err"; then fail "followed without the key"; fi
grep -q "401" "$work/nokey.err" || fail "no 401 named: $(cat "$work/nokey.err")"
if laptop replica follow --once --from "$from" --api-key-file "$work/key" \
  --db "$work/laptop/untrusted.db" 2>"$work/untrusted.err"; then fail "trusted a self-signed hub"; fi
grep -qi "certificate" "$work/untrusted.err" || fail "no certificate error: $(cat "$work/untrusted.err")"
[[ ! -e "$work/laptop/nokey.db" && ! -e "$work/laptop/untrusted.db" ]] || fail "wrote at --db"
[[ ! -e "$work/laptop/nokey.db.follow" ]] || fail "state file left behind"

# --once until Litestream has synced the five (about a second).
copy="$work/laptop/copy.db"
for _ in $(seq 50); do
  laptop replica follow --once --from "$from" --hub-ca "$ca" --api-key-file "$work/key" \
    --db "$copy" 2>"$work/once.err" || true
  [[ -f "$copy" && $(sqlite3 "$copy" 'SELECT count(*) FROM memories') == 5 ]] && break
  sleep 0.2
done
[[ -f "$copy" ]] || fail "no copy: $(cat "$work/once.err")"
hub_rows=$(sqlite3 "$work/hub/sqlite_vec.db" 'SELECT content_hash, content, tags FROM memories ORDER BY content_hash')
copy_rows=$(sqlite3 "$copy" 'SELECT content_hash, content, tags FROM memories ORDER BY content_hash')
[[ "$hub_rows" == "$copy_rows" ]] || fail "the copy differs from the hub"
[[ $(sqlite3 "$copy" 'PRAGMA journal_mode') == delete ]] || fail "the copy is not in rollback-journal mode"
grep -q "restored 5 memories" "$work/once.err" || fail "round report: $(cat "$work/once.err")"
[[ ! -e "$copy.follow" ]] || fail "--once left its state file"

# The guide's initial replica sync: restore --from the same URL, checked and put in place; the
# temporary mirror is gone afterwards. Without the key: refused, nothing written.
if laptop restore --from "$from" --hub-ca "$ca" --to "$work/restored-nokey.db" \
  2>"$work/restore-nokey.err"; then fail "restored without the key"; fi
[[ ! -e "$work/restored-nokey.db" ]] || fail "restore without the key wrote at --to"
laptop restore --from "$from" --hub-ca "$ca" --api-key-file "$work/key" \
  --to "$work/restored.db" >"$work/restore.out" 2>&1 || fail "restore: $(cat "$work/restore.out")"
grep -q "Restored 5 memories" "$work/restore.out" || fail "restore report: $(cat "$work/restore.out")"
[[ "$(sqlite3 "$work/restored.db" 'SELECT content_hash, content, tags FROM memories ORDER BY content_hash')" == "$hub_rows" ]] ||
  fail "the restored database differs from the hub"
leftovers=$(ls "$work" | grep -c "restored.db.mirror" || true)
[[ "$leftovers" == 0 ]] || fail "restore left its mirror: $(ls "$work")"

# Follow every second while the hub stores 100 more; a reader lists the copy all the while.
"${laptop_env[@]}" "$binary" --json replica follow --from "$from" --hub-ca "$ca" \
  --api-key-file "$work/key" --db "$copy" --interval 1s >"$work/follow.jsonl" 2>"$work/follow.log" &
follower_pid=$!
for _ in $(seq 100); do [[ -s "$work/follow.jsonl" ]] && break; sleep 0.05; done
[[ -f "$copy.follow" ]] || fail "no state file while following"
grep -q "\"pid\":$follower_pid" "$copy.follow" || fail "state file: $(cat "$copy.follow")"
[[ $(stat -c %a "$copy.follow") == 600 ]] || fail "state file mode $(stat -c %a "$copy.follow")"

(
  for i in $(seq 1 100); do store "update $i from the hub while a laptop follows"; done
) &
writer_pid=$!
reads=0 last=0 final=0
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  out=$(laptop --db-path "$copy" --json list --page-size 1000 2>"$work/read.err") ||
    fail "read $reads failed: $(cat "$work/read.err")"
  n=$(grep -o '"content_hash"' <<<"$out" | wc -l)
  ((n >= last)) || fail "read $reads saw $n memories after $last (went back)"
  ((n <= 105)) || fail "read $reads saw $n memories"
  last=$n reads=$((reads + 1))
  if ! kill -0 "$writer_pid" 2>/dev/null && ((n == 105)); then final=$n; break; fi
done
wait "$writer_pid" || fail "the hub's stores failed"
((final == 105)) || fail "the follower ended with $last of 105 memories after $reads reads"
((reads >= 10)) || fail "only $reads reads"
[[ ! -e "$copy-wal" && ! -e "$copy-journal" ]] || fail "a reader wrote beside the copy"
leftovers=$(ls "$work/laptop" | grep -v -x -e copy.db -e copy.db.follow -e copy.db.mirror || true)
[[ -z "$leftovers" ]] || fail "files left beside the copy: $leftovers"
grep -q '"changed":true' "$work/follow.jsonl" || fail "no round restored: $(cat "$work/follow.jsonl")"

kill -TERM "$follower_pid"
wait "$follower_pid" && rc=0 || rc=$?
follower_pid=
[[ $rc == 0 ]] || fail "follower exit code $rc after SIGTERM"
[[ ! -e "$copy.follow" ]] || fail "state file left after SIGTERM"
[[ $(sqlite3 "$copy" 'PRAGMA integrity_check') == ok ]] || fail "integrity"
echo "replica follow over https: ok ($reads consistent reads)"
