#!/usr/bin/env bash
# Hub failover with real processes: the hub dies holding a change nobody pulled; spoke a takes
# over (`sync promote`, then `serve --https`), spoke b moves to it (`sync --hub NEW`), and the
# old hub comes back as a spoke (`sync join --hub NEW`). All three must end with the same
# state: no duplicates, the delete made while the old hub was away holds (no resurrection),
# the edits made on either side survive, and the change only the old hub had arrives.
# Per-node "behind" on the new hub is 0 after complete rounds; `sync forget-hub` forgets.
# Usage: sync_failover.sh <path to mcp-memory>
set -euo pipefail
bin=$1
work=$(mktemp -d)
export MCP_API_KEY="failover-key" MCP_BACKUP_ENABLED=false
source "$(dirname "$0")/sync_lib.sh"
new_pid=
trap '[[ -n "$new_pid" ]] && kill "$new_pid" 2>/dev/null; cleanup' EXIT
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# Nodes given after <what> hold exactly node $1's state.
expect_same() {
  local what=$1 ref=$2 r n s
  shift 2
  r=$(state "$ref")
  for n in "$@"; do
    s=$(state "$n")
    [[ "$s" == "$r" ]] || { diff <(echo "$s") <(echo "$r") | head; fail "$what: $n and $ref differ"; }
  done
  echo "ok: $what"
}

start_hub
on a store "alpha one" --tags a >/dev/null
on a store "alpha two" --tags a >/dev/null
on b store "beta one" --tags b >/dev/null
sync_node a; sync_node b; sync_node a
x=$(hash_of a "alpha one")
y=$(hash_of a "alpha two")

# The hub gets changes a never pulls: b's store and edit, and one made on the hub itself.
on b store "beta late" --tags b >/dev/null
on b update "$x" --metadata '{"edited_on": "b"}' >/dev/null
sync_node b
on hub store "written on the old hub" >/dev/null
on a store "pending on a" >/dev/null  # never pushed to the old hub
kill -9 "$hub_pid"; wait "$hub_pid" 2>/dev/null || true; hub_pid=

# a takes over.
out=$(on a sync promote)
grep -q "forgot the hub $hub_url; 1 changes never pushed" <<<"$out" || fail "promote said: $out"
grep -q "is the hub now" <<<"$out" || fail "promote gave no next steps: $out"
[[ $(on a --json sync status | json 'd["hub"]') == None ]] || fail "a still has a hub"
new_port=$(free_port)
new_url="https://127.0.0.1:$new_port"
MCP_MEMORY_BASE_DIR="$work/a" MCP_MEMORY_NODE_NAME=a "$bin" serve --https --port "$new_port" \
  2>>"$work/new-hub.log" &
new_pid=$!
wait_https "$new_url" "$work/a/tls/cert.pem"
sync_new() { on "$1" sync --hub "$new_url" --hub-ca "$work/a/tls/cert.pem" --once >/dev/null; }

# b moves to the new hub, then deletes and edits while the old hub is away.
sync_new b
on b delete "$y" >/dev/null
on b update "$x" --tags a,after-failover >/dev/null
sync_new b
[[ $(on b --json sync status | json 'd["hub"]["url"]') == "$new_url" ]] || fail "b's hub"

# The old hub comes back as a spoke of a.
out=$(on hub sync join --hub "$new_url" --hub-ca "$work/a/tls/cert.pem")
grep -q "joined $new_url as a spoke (forgot 2 nodes that synced here)" <<<"$out" \
  || fail "join said: $out"
sync_new b; sync_new hub; sync_new b; sync_new hub
expect_same "old hub joined the new one" a b hub
s=$(state a)
for text in "alpha one" "beta one" "beta late" "written on the old hub" "pending on a"; do
  [[ $(grep -c $'\talive\t.*\t'"$text"'$' <<<"$s") == 1 ]] || fail "'$text' is not there once"
done
[[ $(grep -c $'\talive\t' <<<"$s") == 5 ]] || fail "expected 5 memories: $s"
grep -q "^$y"$'\t.*\tdeleted$' <<<"$s" || fail "the delete made during the failover did not hold"
grep -q "^$x"$'\t.*\talive\t[^\t]*\ta,after-failover\t' <<<"$s" || fail "b's edit is lost: $s"
[[ $(on a --json get "$x") == *'"edited_on": "b"'* ]] \
  || fail "b's edit made before the failover is lost"
echo "ok: nothing lost, doubled or resurrected"

# The old hub is a spoke now: it shows the new hub and no nodes of its own.
st=$(on hub --json sync status)
[[ $(json 'd["hub"]["url"]' <<<"$st") == "$new_url" ]] || fail "old hub's hub: $st"
[[ $(json 'len(d["peers"])' <<<"$st") == 0 ]] || fail "old hub still lists nodes: $st"
# After complete rounds the new hub counts both nodes 0 changes behind.
st=$(on a --json sync status)
[[ $(json 'sorted((p["node"], p["behind"]) for p in d["peers"])' <<<"$st") == \
   "[('b', 0), ('hub', 0)]" ]] || fail "behind after complete rounds: $st"
echo "ok: status after failover"

# forget-hub: b forgets it, once.
grep -q "forgot the hub $new_url; 0 changes" <<<"$(on b sync forget-hub)" || fail "forget-hub"
[[ $(on b --json sync status | json 'd["hub"]') == None ]] || fail "b still has a hub"
grep -q "no hub to forget" <<<"$(on b sync forget-hub)" || fail "forget-hub twice"
echo "ok: forget-hub"
echo "PASS"
