#!/usr/bin/env bash
# The sync guide's HTTPS commands against the real binary: `serve --https` makes its
# self-signed certificate on first start, `curl -k https://localhost:8443/api/health/detailed`
# (here on a free port) answers with the API key and refuses without it, the guide's
# monitoring fields (memory_count, last_modified) follow a store made over REST, curl
# --cacert with the kept certificate verifies, /api/events streams the next store, and SIGTERM
# stops the server cleanly and quickly even with that stream open.
# Usage: https_sync_guide.sh <path to mcp-memory>
set -euo pipefail
binary=$1
work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$work/server.log"; exit 1; }

export MCP_MEMORY_BASE_DIR="$work" MCP_API_KEY="guide-key-42"
"$binary" serve --https --port 0 2>"$work/server.log" &
server_pid=$!
url=
for _ in $(seq 100); do
  url=$(grep -o 'serving https://127\.0\.0\.1:[0-9]*' "$work/server.log" | cut -d' ' -f2 || true)
  [[ -n "$url" ]] && break
  sleep 0.05
done
[[ -n "$url" ]] || fail "server did not start"
port=${url##*:}
grep -q "made a self-signed certificate" "$work/server.log" || fail "no certificate message"
[[ $(stat -c %a "$work/tls/key.pem") == 600 ]] || fail "key.pem is not mode 0600"

health=$(curl -sS -k -H "X-API-Key: $MCP_API_KEY" "https://localhost:$port/api/health/detailed")
grep -q '"status":"healthy"' <<<"$health" || fail "detailed health: $health"
grep -q '"memory_count":0' <<<"$health" || fail "memory_count: $health"
code=$(curl -sS -k -o /dev/null -w '%{http_code}' "https://localhost:$port/api/health/detailed")
[[ $code == 401 ]] || fail "detailed health without a key gave $code"

stored=$(curl -sS --cacert "$work/tls/cert.pem" -H "X-API-Key: $MCP_API_KEY" \
  -H 'Content-Type: application/json' -d '{"content":"stored over HTTPS","tags":["guide"]}' \
  "https://localhost:$port/api/memories")
grep -q '"success":true' <<<"$stored" || fail "store: $stored"
open=$(curl -sS --cacert "$work/tls/cert.pem" "https://localhost:$port/api/health")
grep -q '"memory_count":1' <<<"$open" || fail "open health after a store: $open"
grep -q '"last_modified":"20' <<<"$open" || fail "last_modified: $open"

# A live event stream sees the next store, and does not keep the server from stopping.
curl -sS -N -k "https://localhost:$port/api/events?api_key=$MCP_API_KEY" >"$work/events" 2>/dev/null &
events_pid=$!
for _ in $(seq 100); do grep -q connection_established "$work/events" && break; sleep 0.05; done
curl -sS -k -H "X-API-Key: $MCP_API_KEY" -H 'Content-Type: application/json' \
  -d '{"content":"seen live"}' "https://localhost:$port/api/memories" >/dev/null
for _ in $(seq 100); do grep -q '"content_preview":"seen live"' "$work/events" && break; sleep 0.05; done
grep -q 'event: memory_stored' "$work/events" || fail "no live event: $(cat "$work/events")"

started=$(date +%s%N)
kill -TERM "$server_pid"
wait "$server_pid" && rc=0 || rc=$?
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
wait "$events_pid" 2>/dev/null || true
(( elapsed_ms < 3000 )) || fail "stopping took ${elapsed_ms} ms with an open event stream"
server_pid=
[[ $rc == 0 ]] || fail "exit code $rc after SIGTERM"
[[ $(sqlite3 "$work/sqlite_vec.db" 'PRAGMA integrity_check') == ok ]] || fail "integrity"
[[ $(sqlite3 "$work/sqlite_vec.db" 'SELECT count(*) FROM memories') == 2 ]] || fail "row count"
echo "https sync guide: ok"
