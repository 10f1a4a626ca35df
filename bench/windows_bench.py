#!/usr/bin/env python3
"""The Windows build's figures (issue 19), printed as `BENCH <name> <value> <unit>`:

  win_exe_mb                 the stripped mcp-memory.exe
  win_search_p50_ms_10k      REST search latency of the .exe under wine64, 10k memories
  linux_search_p50_ms_10k    the same searches against the Linux build, same database

Both servers serve a copy of one database (10k generated memories imported by the Linux build)
on loopback, and answer the same 300 queries (after 30 to warm up) over one keep-alive
connection each. Wine is not Windows: the Windows figure is informative only.

Usage: windows_bench.py <Linux mcp-memory> <mcp-memory.exe>
"""
import hashlib
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

WORDS = ("memory agent sync hub spoke laptop windows linux database search vector recall tag "
         "time meeting project deadline coffee garden river mountain guitar python rust cpp "
         "server client backup restore replica stream latency budget design review release "
         "bug feature test deploy cloud storage network cache index query answer").split()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_export(path, count, rng):
    memories = []
    for i in range(count):
        content = f"note {i}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
        memories.append({
            "content": content,
            "content_hash": hashlib.sha256(content.encode()).hexdigest(),
            "tags": [rng.choice(WORDS) for _ in range(rng.randint(0, 3))],
            "created_at": 1.7e9 + i,
            "updated_at": 1.7e9 + i,
            "memory_type": "note",
            "metadata": {},
        })
    with open(path, "w") as f:
        json.dump({"export_metadata": {"total_memories": count}, "memories": memories}, f)


def measure(command, env, port, queries, key):
    server = subprocess.Popen(command + ["serve", "--http", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/api/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise SystemExit(f"{command[0]} did not start")
            time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/json", "X-API-Key": key}
        times = []
        for i, q in enumerate(queries):
            body = json.dumps({"query": q, "n_results": 10})
            t0 = time.perf_counter()
            conn.request("POST", "/api/search", body, headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"search answered {response.status}")
            if i >= 30:
                times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)
    finally:
        server.terminate()
        server.wait(60)


def main():
    linux, exe = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
    wine = os.environ.get("WINE64", "/usr/lib/wine/wine64")
    rng = random.Random(19)
    work = tempfile.mkdtemp(prefix="mcpmem-winbench-")
    try:
        key = "bench-key-0123456789abcdef"
        base = dict(os.environ, MCP_API_KEY=key, MCP_MEMORY_BASE_DIR=f"{work}/linux")
        make_export(f"{work}/export.json", 10_000, rng)
        subprocess.run([linux, "import", f"{work}/export.json"], env=base, check=True,
                       stdout=subprocess.DEVNULL)
        os.makedirs(f"{work}/win", mode=0o700)
        shutil.copy(f"{work}/linux/sqlite_vec.db", f"{work}/win/sqlite_vec.db")
        queries = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
                   for _ in range(330)]
        linux_ms = measure([linux], base, free_port(), queries, key)
        wine_env = dict(base, WINEPREFIX=f"{work}/wine", WINEDEBUG="-all",
                        WINEDLLOVERRIDES="mscoree,mshtml=",
                        MCP_MEMORY_BASE_DIR="Z:" + f"{work}/win".replace("/", "\\"))
        subprocess.run([wine, "wineboot", "--init"], env=wine_env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        win_ms = measure([wine, exe], wine_env, free_port(), queries, key)
        subprocess.run([os.path.join(os.path.dirname(wine), "wineserver"), "-k"], env=wine_env)
        print(f"BENCH win_exe_mb {os.path.getsize(exe) / 1e6:.1f} MB")
        print(f"BENCH win_search_p50_ms_10k {win_ms:.2f} ms")
        print(f"BENCH linux_search_p50_ms_10k {linux_ms:.2f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
