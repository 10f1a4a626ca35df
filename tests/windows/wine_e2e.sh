#!/usr/bin/env bash
# The Windows build end to end under wine64, headless, as the guide's Windows spoke uses it:
#   - the default data directory is %USERPROFILE%\.local\share\mcp-memory (MCP_MEMORY_BASE_DIR
#     wins), with Windows paths (drive letters, backslashes) read and printed; one outside
#     ASCII is used by its short name;
#   - store / search / export / import, the export identical in bytes to the Linux build's
#     format (no "\r\n" from text-mode stdio) and read back by the Linux build, and the reverse;
#   - MCP over stdio and over HTTP with the official SDK client (tests/e2e/mcp_sdk.test.mjs,
#     unchanged, through a wrapper that runs the .exe);
#   - `serve --http` answered from Linux curl, API key enforced;
#   - a Windows spoke syncing with a Linux hub over HTTPS (self-signed CA file) and back;
#   - two Windows writer processes on one database: nothing lost, integrity ok;
#   - a Windows service: registered, started by the service manager (serves, syncs), stopped
#     through its control handler, removed.
# Usage: wine_e2e.sh <mcp-memory.exe> <Linux mcp-memory>
set -euo pipefail
exe=$(realpath "$1")
bin=$(realpath "$2")
cd "$(dirname "$0")/../.."
repo=$(pwd)
wine=${WINE64:-/usr/lib/wine/wine64}
[[ -x $wine ]] || wine=$(command -v wine64)
work=$(mktemp -d /tmp/mcpmem-wine-XXXXXX)
export WINEPREFIX=$work/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
export MCP_API_KEY=wine-e2e-key-0123456789
source tests/e2e/sync_lib.sh  # the Linux hub (start_hub, on, state, expect_converged); cleanup
wineserver=$(dirname "$wine")/wineserver
wine_cleanup() {
  [[ -n "${win_server_pid:-}" ]] && kill "$win_server_pid" 2>/dev/null
  "$wineserver" -k 2>/dev/null || true
  cleanup
}
trap wine_cleanup EXIT

svc_port=$(free_port)
started=$SECONDS
# One persistent wineserver for every run below: each start then takes ~0.3 s, not ~3 s.
"$wineserver" -p 2>/dev/null || true
"$wine" wineboot --init >/dev/null 2>&1 || true
echo "ok: wine prefix ready ($((SECONDS - started)) s)"

# Windows paths for Linux ones: wine's Z: drive is /.
winpath() { printf 'Z:%s' "${1//\//\\}"; }
# The .exe with a Windows environment: the node's data directory given as a Windows path.
win() { local n=$1; shift; MCP_MEMORY_BASE_DIR="$(winpath "$work/$n")" MCP_MEMORY_NODE_NAME="$n" "$wine" "$exe" "$@"; }

# 1. Defaults: the guide's data directory under the Windows profile, the machine's name.
user_dir=$(ls -d "$WINEPREFIX"/drive_c/users/*/ | grep -v '/Public/$' | head -1)
env -u MCP_MEMORY_BASE_DIR COMPUTERNAME=WINPC "$wine" "$exe" store "first memory on the Windows PC" --tags windows,guide >/dev/null
[[ -f "$user_dir/.local/share/mcp-memory/sqlite_vec.db" ]] ||
  fail "no database at %USERPROFILE%\\.local\\share\\mcp-memory\\sqlite_vec.db"
health=$(env -u MCP_MEMORY_BASE_DIR "$wine" "$exe" --json doctor 2>/dev/null || true)
grep -qiF 'C:\\users\\' <<<"$health" ||
  fail "doctor does not show the Windows data directory: $health"
echo "ok: default data directory %USERPROFILE%\\.local\\share\\mcp-memory"
# A data directory outside ASCII (a profile folder such as C:\Users\José) is reached by its
# short name: the files land in that folder, not in a look-alike; so does an export's file.
mkdir "$work/José Müller"
jose() { MCP_MEMORY_BASE_DIR="$(winpath "$work/José Müller")" "$wine" "$exe" "$@"; }
jose store "kept in a folder outside ASCII" >/dev/null || fail "no store in a folder outside ASCII"
[[ -f "$work/José Müller/sqlite_vec.db" ]] || fail "the database is not in José Müller: $(ls "$work")"
grep -q "outside ASCII" <<<"$(jose search "folder outside")" || fail "not found in José Müller"
jose export -o "$(winpath "$work/José Müller/export.json")" >/dev/null
grep -q "kept in a folder outside ASCII" "$work/José Müller/export.json" ||
  fail "the export is not in José Müller"
# A part outside ASCII that does not exist yet has no short name: refused with what to do, and
# nothing is written.
if refused=$(MCP_MEMORY_BASE_DIR="$(winpath "$work/Zoë/data")" "$wine" "$exe" store "x" 2>&1); then
  fail "a data directory that cannot be reached was accepted"
fi
grep -q "outside ASCII.*MCP_MEMORY_BASE_DIR" <<<"$refused" || fail "no clear refusal: $refused"
[[ ! -e "$work/Zoë" ]] || fail "a refused data directory was created"
echo "ok: a data directory outside ASCII is used by its short name; one not there yet is refused"

# 2. Store, search, export (binary stdout: no CR), import on Linux, and back.
win spoke store "Windows spoke: the cat sleeps on the keyboard" --tags pets >/dev/null
win spoke store "Windows spoke: café ünïcode ✓" --tags text >/dev/null
found=$(win spoke search "cat keyboard")
grep -q "cat sleeps" <<<"$found" || fail "search on Windows found nothing: $found"
win spoke export -o - >"$work/win-export.json"
if grep -q $'\r' "$work/win-export.json"; then fail "the export holds CR bytes (text-mode stdout)"; fi
on linux import "$work/win-export.json" >/dev/null
[[ $(on linux --json search "ünïcode" --mode exact | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["results"]))') == 1 ]] ||
  fail "the Linux build did not read the Windows export"
on linux store "Linux laptop: the dog prefers the sofa" --tags pets >/dev/null
on linux export -o "$work/linux-export.json" >/dev/null
win spoke import "$(winpath "$work/linux-export.json")" >/dev/null
grep -q "dog prefers" <<<"$(win spoke search "sofa dog")" || fail "Windows did not import Linux's export"
win spoke export -o "$(winpath "$work/win-file.json")" >/dev/null
[[ -s "$work/win-file.json" ]] || fail "export -o C:\\... wrote nothing"
echo "ok: store, search, export and import between Windows and Linux"

# 3. MCP with the official SDK client, over stdio and over HTTP, through a wrapper.
cat >"$work/mcp-memory-wine" <<WRAP
#!/bin/sh
export WINEPREFIX='$WINEPREFIX' WINEDEBUG=-all
exec '$wine' '$exe' "\$@"
WRAP
chmod +x "$work/mcp-memory-wine"
node tests/e2e/mcp_sdk.test.mjs "$work/mcp-memory-wine" stdio || fail "MCP over stdio"
node tests/e2e/mcp_sdk.test.mjs "$work/mcp-memory-wine" http || fail "MCP over HTTP"
echo "ok: the MCP SDK client over stdio and HTTP"

# 4. serve --http on Windows, answered from Linux.
wport=$(free_port)
MCP_MEMORY_BASE_DIR="$(winpath "$work/spoke")" "$wine" "$exe" serve --http --port "$wport" \
  2>"$work/win-serve.log" &
win_server_pid=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$wport/api/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$wport/api/health" >/dev/null || { cat "$work/win-serve.log"; fail "serve --http did not answer"; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$wport/api/memories")
[[ $code == 401 ]] || fail "the API answered $code without a key"
curl -sf -H "X-API-Key: $MCP_API_KEY" "http://127.0.0.1:$wport/api/search" \
  -H 'Content-Type: application/json' -d '{"query": "cat keyboard", "n_results": 3}' |
  grep -q "cat sleeps" || fail "search over HTTP"
kill "$win_server_pid"
wait "$win_server_pid" 2>/dev/null || true
win_server_pid=
echo "ok: serve --http answered from Linux curl"

# 5. A Windows spoke and a Linux spoke sync through a Linux hub over HTTPS, both ways.
start_hub
ca=$(winpath "$work/hub/tls/cert.pem")
win spoke sync --hub "$hub_url" --hub-ca "$ca" --once >/dev/null || fail "Windows sync"
sync_node linux
win spoke sync --hub "$hub_url" --hub-ca "$ca" --once >/dev/null
hash=$(on linux --json search "café ünïcode" --mode exact |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["memory"]["content_hash"])')
on linux delete "$hash" >/dev/null
win spoke store "Windows spoke: written after the first sync" >/dev/null
sync_node linux
win spoke sync --hub "$hub_url" --hub-ca "$ca" --once >/dev/null
sync_node linux
[[ "$(state linux)" == "$(state hub)" ]] || fail "the Linux spoke and the hub differ"
win_state=$(win spoke export --include-deleted -o - | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(len(d["memories"]), len(d.get("tombstones", [])))')
hub_state=$(on hub export --include-deleted -o - | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(len(d["memories"]), len(d.get("tombstones", [])))')
[[ "$win_state" == "$hub_state" ]] || fail "Windows spoke ($win_state) and hub ($hub_state) differ"
echo "ok: a Windows spoke and a Linux spoke converge through a Linux hub ($hub_state)"

# 6. Two Windows writers on one database at once.
writers=()
for w in a b; do
  (for i in $(seq 25); do win writers store "writer $w memory $i" >/dev/null || exit 1; done) &
  writers+=($!)
done
for p in "${writers[@]}"; do wait "$p" || fail "a writer failed"; done
count=$(win writers --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_memories"])')
[[ $count == 50 ]] || fail "two writers: $count memories, expected 50"
sqlite3 "$work/writers/sqlite_vec.db" 'PRAGMA integrity_check' | grep -qx ok || fail "integrity"
echo "ok: two Windows writer processes, 50 memories, integrity ok"
# 7. A Windows service, as the service manager runs it: `service install` registers it (the
#    command line as the registry holds it), `sc start` runs `service run`, which serves HTTP
#    and syncs with the hub, `sc stop` stops it through the control handler, and `service
#    uninstall` removes it. Wine ends its service manager, and the services it started, once no
#    ordinary wine process is left (a Windows machine has no such rule): a stdio MCP server
#    waiting on its input keeps one alive for this section.
mkdir -p "$work/svc"
printf '%s' "$MCP_API_KEY" >"$work/svc/hub_api_key"
win svc service install --sync --hub-url "$hub_url" --env "MCP_HTTP_PORT=$svc_port" \
  --env "MCP_MEMORY_HUB_CA=$ca" >"$work/svc-install.out" ||
  { cat "$work/svc-install.out"; fail "service install"; }
grep -q "registered the Windows service mcp-memory-sync" "$work/svc-install.out" ||
  fail "service install did not register: $(cat "$work/svc-install.out")"
service_key='HKLM\System\CurrentControlSet\Services\mcp-memory-sync'
config=$("$wine" reg query "$service_key" /v ImagePath 2>&1 || true)
grep -q "service run --log" <<<"$config" || fail "the registered service: $config"
grep -q "MCP_HTTP_PORT=$svc_port --env MCP_MEMORY_HUB_CA=.* mcp-memory-sync -- serve --http --hub-url $hub_url" \
  <<<"$config" || fail "the registered service: $config"
mkfifo "$work/keeper.in"
win keeper serve <"$work/keeper.in" >/dev/null 2>&1 &
keeper_pid=$!
exec 9>"$work/keeper.in"  # the keeper's input, held open until the end of this section
# An automatic-start service may be running already: wine's service manager starts those when
# it starts (with the keeper, here), so sc's answer is not the test; the service answering is.
# A manager still ending with the session before the keeper's may drop the first request:
# `sc start` again while the service is stopped.
for i in $(seq 300); do
  curl -sf "http://127.0.0.1:$svc_port/api/health" >/dev/null && break
  if ((i % 30 == 1)) && "$wine" sc query mcp-memory-sync | grep -q STOPPED; then
    "$wine" sc start mcp-memory-sync >>"$work/sc-start.out" 2>&1 || true
  fi
  sleep 0.1
done
curl -sf "http://127.0.0.1:$svc_port/api/health" >/dev/null ||
  fail "the service does not answer: $("$wine" sc query mcp-memory-sync)
sc start: $(cat "$work/sc-start.out" 2>/dev/null)
$(cat "$work/svc/mcp-memory-sync.log" 2>/dev/null)"
[[ -f "$work/svc/mcp-memory-sync.log" ]] || fail "the service has no log file"
# It syncs: what the hub holds arrives in the service's database. Its own API key is the one
# it generated beside its data (no secret in the registry).
svc_key=$(cat "$work/svc/api_key")
for _ in $(seq 300); do
  curl -sf -H "X-API-Key: $svc_key" "http://127.0.0.1:$svc_port/api/search" \
    -H 'Content-Type: application/json' -d '{"query": "dog sofa", "n_results": 3}' |
    grep -q "dog prefers" && break
  sleep 0.2
done
curl -sf -H "X-API-Key: $svc_key" "http://127.0.0.1:$svc_port/api/search" \
  -H 'Content-Type: application/json' -d '{"query": "dog sofa", "n_results": 3}' |
  grep -q "dog prefers" || fail "the service did not sync from the hub"
"$wine" sc query mcp-memory-sync | grep -q RUNNING || fail "sc query: not RUNNING"
"$wine" sc stop mcp-memory-sync >/dev/null 2>&1 || fail "sc stop"
for _ in $(seq 150); do "$wine" sc query mcp-memory-sync | grep -q STOPPED && break; sleep 0.2; done
"$wine" sc query mcp-memory-sync | grep -q STOPPED || fail "the service did not stop"
! curl -sf "http://127.0.0.1:$svc_port/api/health" >/dev/null 2>&1 || fail "stopped, still serving"
win svc service uninstall --sync >"$work/svc-uninstall.out" 2>&1 ||
  fail "service uninstall: $(cat "$work/svc-uninstall.out")"
! "$wine" reg query "$service_key" >/dev/null 2>&1 || fail "service uninstall left the service"
exec 9>&-
wait "$keeper_pid" 2>/dev/null || true
echo "ok: a Windows service registered, started (serving, synced), stopped and removed"
echo "wine e2e: all passed in $((SECONDS - started)) s"
