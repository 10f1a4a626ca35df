#!/usr/bin/python3
"""Makes the test fixtures that need Python itself as the oracle (run by hand, not in CI):

  tests/fixtures/content_hashes.json  Python's sha256(content.strip().lower()) for hard cases
  tests/fixtures/iso_times.json       Python's datetime.utcfromtimestamp(t).isoformat() + "Z"
  tests/fixtures/python_service.db    a database laid out as the Python MCP Memory Service's
                                      SqliteVecMemoryStorage.initialize() makes it (memories,
                                      metadata, vec0 memory_embeddings, trigram FTS + triggers)

Usage: /usr/bin/python3 scripts/make-fixtures.py   (needs `npm install` for sqlite-vec)
"""
import datetime
import hashlib
import json
import os
import random
import sqlite3
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures")

HASH_CASES = [
    "hello world", "Hello World", "  Hello World  ", "\tTabs and\nnewlines\n", "inner   spaces kept",
    "Straße", "STRASSE", "İstanbul", "ISTANBUL", "ıi", "ΣΑΣ", "ΌΣΟΣ ΣΑΣ.", "Σ", "aΣ", "aΣb", "aΣ.",
    "ΑΣ'", "ΑΣ\u0301", "\u3000ideographic space\u3000", "\u00a0nbsp\u00a0", "\u2028line sep\u2029",
    "\u0085next line\u0085", "\u1680ogham\u1680", "\u200bzero width\u200b", "\ufeffbom\ufeff",
    "\u2003em space\u2002", "\x1cfile sep\x1f", "emoji 😀 ÉCOLE", "Привет МИР", "ԱՐԵՎ Armenian",
    "ᲐᲑᲒ Georgian mtavruli", "ᏣᎳᎩ Cherokee", "ǅ Dž titlecase ǈ", "e\u0301 combining É", "",
    "   ", "\u3000\u3000", "Ⅻ roman ⅻ", "ＦＵＬＬＷＩＤＴＨ", "ẞ capital sharp s", "Ω Ohm sign Ω",
    "K Kelvin sign", "ﬁ ligature", "Ǆ", "ΐ", "ᾈ iota subscript",
]

ISO_CASES = [0.0, 1.0, 0.5, 1732492800.0, 1732492800.5, 1732492800.123456, 1732492800.1234565,
             1732492800.9999995, 1732492800.9999994, 1e9 + 0.9999995, 1e9 + 0.0000005,
             0.1234565, 4102444800.25, 1795574951.304647, 1600000000.000001, 1600000000.0000015,
             1700000000.999999, 951782400.0, 1709164800.75, 86399.9999999]


def make_hashes():
    cases = []
    for text in HASH_CASES:
        stripped = text.strip().lower()
        cases.append({"content": text, "strip_lower": stripped,
                      "hash": hashlib.sha256(stripped.encode("utf-8")).hexdigest()})
    with open(os.path.join(OUT, "content_hashes.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)


def make_iso():
    cases = [{"ts": t, "iso": datetime.datetime.utcfromtimestamp(t).isoformat() + "Z"}
             for t in ISO_CASES]
    with open(os.path.join(OUT, "iso_times.json"), "w") as f:
        json.dump(cases, f, indent=1)


def make_python_db():
    path = os.path.join(OUT, "python_service.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    conn = sqlite3.connect(path)
    conn.enable_load_extension(True)
    conn.load_extension(os.path.join(ROOT, "node_modules", "sqlite-vec-linux-x64", "vec0"))
    # DDL as in the Python service's storage/sqlite_vec.py and migration 011.
    conn.executescript("""
        CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT OR REPLACE INTO metadata (key, value) VALUES ('distance_metric', 'cosine');
        CREATE TABLE IF NOT EXISTS memories (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            content_hash TEXT UNIQUE NOT NULL,
            content TEXT NOT NULL,
            tags TEXT,
            memory_type TEXT,
            metadata TEXT,
            created_at REAL,
            updated_at REAL,
            created_at_iso TEXT,
            updated_at_iso TEXT,
            deleted_at REAL DEFAULT NULL
        );
        ALTER TABLE memories ADD COLUMN parent_id TEXT;
        ALTER TABLE memories ADD COLUMN version INTEGER DEFAULT 1;
        ALTER TABLE memories ADD COLUMN confidence REAL DEFAULT 1.0;
        ALTER TABLE memories ADD COLUMN last_accessed INTEGER;
        ALTER TABLE memories ADD COLUMN superseded_by TEXT;
        CREATE VIRTUAL TABLE IF NOT EXISTS memory_embeddings USING vec0(
            content_embedding FLOAT[384] distance_metric=cosine
        );
        CREATE INDEX IF NOT EXISTS idx_content_hash ON memories(content_hash);
        CREATE INDEX IF NOT EXISTS idx_created_at ON memories(created_at);
        CREATE INDEX IF NOT EXISTS idx_memory_type ON memories(memory_type);
        CREATE INDEX IF NOT EXISTS idx_deleted_at ON memories(deleted_at);
        CREATE VIRTUAL TABLE IF NOT EXISTS memory_content_fts USING fts5(
            content, content='memories', content_rowid='id', tokenize='trigram'
        );
        CREATE TRIGGER IF NOT EXISTS memories_fts_ai AFTER INSERT ON memories BEGIN
            INSERT INTO memory_content_fts(rowid, content) VALUES (new.id, new.content);
        END;
        CREATE TRIGGER IF NOT EXISTS memories_fts_ad AFTER DELETE ON memories BEGIN
            INSERT INTO memory_content_fts(memory_content_fts, rowid, content)
            VALUES ('delete', old.id, old.content);
        END;
        CREATE TRIGGER IF NOT EXISTS memories_fts_au AFTER UPDATE ON memories BEGIN
            INSERT INTO memory_content_fts(memory_content_fts, rowid, content)
            VALUES ('delete', old.id, old.content);
            INSERT INTO memory_content_fts(rowid, content) VALUES (new.id, new.content);
        END;
    """)
    rows = [
        ("Python service memory about Kubernetes ingress timeouts", "k8s,infra,source:laptop", "note"),
        ("Die Straße ist gesperrt, Umleitung über die Brücke", "german,travel", "observation"),
        ("Remember: the staging database password rotates monthly", "security, ops", "reference"),
        ("Team decided to adopt Litestream for replication", "decision,sync", "decision"),
        ("日本語のメモ: 会議は木曜日", "japanese", None),
        ("A soft-deleted memory that must stay hidden", "deleted", "note"),
        ("Bug: hybrid sync stopped after 1000 memories", "bug,sync", "error"),
        ("Use WAL mode and a busy timeout for SQLite", "sqlite,reference", "learning"),
        ("Quarterly planning notes for Q3", "planning", "planning"),
        ("Untagged thought with no tags at all", "", None),
    ]
    random.seed(7)
    base = 1735689600.0  # 2025-01-01T00:00:00Z
    for i, (content, tags, mtype) in enumerate(rows):
        created = base + i * 86400 + 0.25
        iso = datetime.datetime.utcfromtimestamp(created).isoformat() + "Z"
        h = hashlib.sha256(content.strip().lower().encode("utf-8")).hexdigest()
        deleted = created + 3600 if content.startswith("A soft-deleted") else None
        cur = conn.execute(
            "INSERT INTO memories (content_hash, content, tags, memory_type, metadata, created_at,"
            " updated_at, created_at_iso, updated_at_iso, deleted_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (h, content, tags, mtype, json.dumps({"source": "python", "n": i}), created, created,
             iso, iso, deleted))
        vec = [random.uniform(-1, 1) for _ in range(384)]
        conn.execute("INSERT INTO memory_embeddings (rowid, content_embedding) VALUES (?, ?)",
                     (cur.lastrowid, struct.pack("384f", *vec)))
    conn.commit()
    conn.execute("VACUUM")
    conn.close()


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_hashes()
    make_iso()
    make_python_db()
    print("fixtures written to", OUT)
