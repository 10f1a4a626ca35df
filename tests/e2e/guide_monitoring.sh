#!/usr/bin/env bash
# The sync guide's "Health Monitoring" Python script (guide_monitoring_script.py, verbatim from
# the guide) against the real server, edited only as the guide tells users to: its three node
# URLs point at this machine's nodes. "central" and "macbook" are `serve --https` nodes
# (self-signed certificates, which the script accepts with ssl=False), "windows" is a node
# that is down. Then `mcp-memory monitor --once` reads the same nodes with the API key and
# the central node's certificate, and raises node_down for the one that is down (exit 1), as
# JSON lines and, on a terminal, as a table.
# Needs Debian's /usr/bin/python3 with python3-aiohttp (scripts/install-deps).
# Usage: guide_monitoring.sh <path to mcp-memory>
set -euo pipefail
binary=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$work"/*.log 2>/dev/null | tail -20; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export MCP_API_KEY="guide-monitor-key"

# start NAME: `serve --https` on a free port with its own data directory; sets `port`.
start() {
  local name=$1 url=
  MCP_MEMORY_BASE_DIR="$work/$name" "$binary" serve --https --port 0 >/dev/null \
    2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 200); do
    url=$(grep -o 'serving https://127\.0\.0\.1:[0-9]*' "$work/$name.log" | cut -d' ' -f2 || true)
    [[ -n "$url" ]] && break
    sleep 0.05
  done
  [[ -n "$url" ]] || fail "$name did not start"
  port=${url##*:}
}
MCP_MEMORY_BASE_DIR="$work/central" "$binary" store "Deploys happen on Tuesdays" >/dev/null
MCP_MEMORY_BASE_DIR="$work/central" "$binary" store "Postgres 16 needs pgvector" >/dev/null
MCP_MEMORY_BASE_DIR="$work/macbook" "$binary" store "The staging key rotates monthly" >/dev/null
start central
central=$port
start macbook
macbook=$port
down=$(free_port)

sed -e "s#https://central-server:8443#https://127.0.0.1:$central#" \
    -e "s#https://windows-pc:8443#https://127.0.0.1:$down#" \
    -e "s#https://macbook.local:8443#https://127.0.0.1:$macbook#" \
    "$here/guide_monitoring_script.py" >"$work/check_sync_status.py"
diff <(grep -v 127.0.0.1 "$work/check_sync_status.py") \
     <(grep -v -e central-server -e windows-pc -e macbook.local "$here/guide_monitoring_script.py") \
  || fail "the script was changed beyond its URLs"
out=$(/usr/bin/python3 "$work/check_sync_status.py") || fail "the guide's script failed: $out"
echo "$out"
grep -Eq '^central: 2 memories, last modified: 20[0-9-]+T[0-9:.]+Z$' <<<"$out" || fail "central: $out"
grep -Eq '^macbook: 1 memories, last modified: 20[0-9-]+T[0-9:.]+Z$' <<<"$out" || fail "macbook: $out"
grep -Eq '^windows: ERROR - .*127\.0\.0\.1:'"$down" <<<"$out" || fail "windows: $out"
[[ $(wc -l <<<"$out") == 3 ]] || fail "expected three lines: $out"

# Our monitor on the same nodes: over verified TLS with the central node's certificate.
set +e
lines=$(MCP_MEMORY_BASE_DIR="$work/monitor" "$binary" monitor --once --json \
  --hub-ca "$work/central/tls/cert.pem" \
  --node "https://127.0.0.1:$central" --node "http://127.0.0.1:$down")
code=$?
set -e
echo "$lines"
[[ $code == 1 ]] || fail "monitor exited $code with a node down"
python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
central = [r for r in rows if r["type"] == "node" and r["up"]]
assert len(central) == 1 and central[0]["memories"] == 2, rows' <<<"$lines" || fail "central: $lines"
grep -q '"kind":"node_down","message":"http://127.0.0.1:'"$down"' is down: cannot connect' \
  <<<"$lines" || fail "no node_down alert: $lines"
# On a terminal (script(1) gives it one) the same poll is a table, redrawn in place.
set +e
table=$(MCP_MEMORY_BASE_DIR="$work/monitor" script -qec "$binary monitor --once \
  --hub-ca $work/central/tls/cert.pem --node https://127.0.0.1:$central \
  --node http://127.0.0.1:$down" /dev/null | tr -d '\r')
code=$?
set -e
echo "$table"
[[ $code == 1 ]] || fail "monitor on a terminal exited $code"
grep -q $'\e\[H\e\[2J' <<<"$table" || fail "no redraw on a terminal"
grep -Eq "^https://127\.0\.0\.1:$central +up +2 " <<<"$table" || fail "no row for central: $table"
grep -Eq "^http://127\.0\.0\.1:$down +DOWN +cannot connect" <<<"$table" || fail "no DOWN row: $table"
grep -q "^ALERT node_down: http://127.0.0.1:$down is down" <<<"$table" || fail "no alert: $table"
echo "ok: the guide's monitoring script and mcp-memory monitor"
