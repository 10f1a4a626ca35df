#!/usr/bin/env bash
# Sync figures with the real binary (issue 6), printed as `BENCH <name> <value> <unit>`:
#   export_per_s        `export` of a 100k-memory database to a file
#   import_per_s        `import` of that file (anchor format, no embeddings) into an empty DB
#   export_rss_mb_1m    peak RSS of `export` of a 1M-memory database (made once, kept)
#   sync_converge_s_10k 10,000 changes on spoke A until spoke B has them, through a hub over
#                       loopback HTTPS (A's sync round + B's sync round)
# Usage: sync_bench.sh <mcp-memory> <bench data dir>
set -euo pipefail
bin=$1
data=$2
work=$(mktemp -d)
export MCP_BACKUP_ENABLED=false MCP_API_KEY=bench-key
source "$(dirname "$0")/../tests/e2e/sync_lib.sh"  # start_hub, on, sync_node
now() { date +%s.%N; }
rate() { python3 -c "print(f'{$1 / ($3 - $2):.1f}')"; }

# A Python-format file of N generated memories (Zipf-ish vocabulary, one of 50 tags).
make_file() {
  python3 - "$1" "$2" <<'PY'
import hashlib, json, random, sys
path, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
words = [f"w{i}" for i in range(600)]
weights = [1 / (i + 1) for i in range(600)]
with open(path, "w") as f:
    f.write('{"export_metadata": {"source_machine": "bench", "total_memories": %d},\n"memories": [\n' % n)
    for i in range(n):
        c = " ".join(rng.choices(words, weights, k=rng.randint(10, 40))) + f" #{i}"
        m = {"content": c, "content_hash": hashlib.sha256(c.strip().lower().encode()).hexdigest(),
             "tags": [f"tag{i % 50}"], "created_at": 1.7e9 + i, "updated_at": 1.7e9 + i,
             "memory_type": "note", "metadata": {}, "export_source": "bench"}
        f.write(("," if i else "") + json.dumps(m) + "\n")
    f.write("]}\n")
PY
}

# export_per_s / import_per_s on 100k.
make_file "$work/100k.json" 100000
MCP_MEMORY_SQLITE_PATH="$work/src.db" "$bin" import --no-source-tags "$work/100k.json" >/dev/null
t0=$(now)
MCP_MEMORY_SQLITE_PATH="$work/src.db" "$bin" export -o "$work/out.json" >/dev/null
t1=$(now)
echo "BENCH export_per_s $(rate 100000 "$t0" "$t1") 1/s"
t0=$(now)
MCP_MEMORY_SQLITE_PATH="$work/dst.db" "$bin" import --no-source-tags "$work/out.json" >/dev/null
t1=$(now)
echo "BENCH import_per_s $(rate 100000 "$t0" "$t1") 1/s"

# export_rss_mb_1m.
db1m="$data/sync-1m.db"
if [[ ! -f "$db1m" ]]; then
  echo "bench: generating 1,000,000 memories into $db1m (once)" >&2
  make_file "$work/1m.json" 1000000
  MCP_MEMORY_SQLITE_PATH="$db1m.partial" "$bin" import --no-source-tags "$work/1m.json" >/dev/null
  mv "$db1m.partial" "$db1m"
  rm -f "$work/1m.json" "$db1m.partial-wal" "$db1m.partial-shm"
fi
/usr/bin/time -f "%M" -o "$work/rss" env MCP_MEMORY_SQLITE_PATH="$db1m" "$bin" export -o "$work/1m-out.json" >/dev/null
echo "BENCH export_rss_mb_1m $(python3 -c "print(f'{$(cat "$work/rss") / 1024:.1f}')") MB"
rm -f "$work/1m-out.json"

# sync_converge_s_10k.
start_hub
make_file "$work/10k.json" 10000
sync_node a
sync_node b
on a import --no-source-tags "$work/10k.json" >/dev/null
t0=$(now)
sync_node a
sync_node b
t1=$(now)
have=$(on b --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_memories"])')
[[ "$have" == 10000 ]] || { echo "bench: spoke b has $have memories, not 10000" >&2; exit 1; }
echo "BENCH sync_converge_s_10k $(python3 -c "print(f'{$t1 - $t0:.2f}')") s"
