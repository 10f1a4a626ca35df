# Shared by the sync e2e scripts (sourced): a hub (`serve --https`, self-signed certificate,
# API key) on a free loopback port, and spokes running the CLI against it, each node with its
# own data directory under $work. The caller sets bin, work and MCP_API_KEY.
hub_pid=
cleanup() {
  [[ -n "$hub_pid" ]] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$work/hub.log"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
hub_url="https://127.0.0.1:$port"

# Waits until the server at URL answers over HTTPS with the certificate CERT.
wait_https() {
  for _ in $(seq 200); do
    curl -s -o /dev/null --cacert "$2" "$1/api/health" 2>/dev/null && return
    sleep 0.05
  done
  fail "the server at $1 did not start"
}
start_hub() {
  MCP_MEMORY_BASE_DIR="$work/hub" MCP_MEMORY_NODE_NAME=hub "$bin" serve --https --port "$port" \
    2>>"$work/hub.log" &
  hub_pid=$!
  wait_https "$hub_url" "$work/hub/tls/cert.pem"
}
on() { local n=$1; shift; MCP_MEMORY_BASE_DIR="$work/$n" MCP_MEMORY_NODE_NAME="$n" "$bin" "$@"; }
sync_node() { on "$1" sync --hub "$hub_url" --hub-ca "$work/hub/tls/cert.pem" --once >/dev/null; }
# One line per memory: hash, version, alive/deleted, and for alive ones type, tags and content.
state() {
  on "$1" export --include-deleted -o - | python3 -c '
import json, sys
d = json.load(sys.stdin)
rows = [(m["content_hash"], m["hlc"], "alive", m["memory_type"], ",".join(m["tags"]), m["content"])
        for m in d["memories"]]
rows += [(t["content_hash"], t["hlc"], "deleted") for t in d.get("tombstones", [])]
for r in sorted(rows): print("\t".join(str(x) for x in r))'
}
# Nodes given after <what> and <alive count> hold exactly the hub's state; the hub has that
# many alive memories.
expect_converged() {
  local what=$1 want=$2 h n s
  shift 2
  h=$(state hub)
  for n in "$@"; do
    s=$(state "$n")
    [[ "$s" == "$h" ]] || { diff <(echo "$s") <(echo "$h") | head; fail "$what: $n and hub differ"; }
  done
  local alive; alive=$(grep -c $'\talive\t' <<<"$h" || true)
  [[ "$alive" == "$want" ]] || fail "$what: $alive alive memories, expected $want"
  echo "ok: $what ($want memories)"
}
hash_of() { on "$1" --json search "$2" --mode exact | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["memory"]["content_hash"])'; }
