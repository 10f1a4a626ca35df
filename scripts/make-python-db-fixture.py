#!/usr/bin/python3
"""Builds tests/fixtures/python_service.db: a database exactly as the Python MCP Memory Service
(v10.59, storage/sqlite_vec.py) makes and fills it, for the tests that open its files.

It replays SqliteVecMemoryStorage.initialize() for a new file (connection pragmas, `metadata`
and `memories`, the sqlite-vec table `memory_embeddings` FLOAT[384] cosine, its four indexes,
the trigram FTS table `memory_content_fts` with its three triggers and 'rebuild', the
`fts5_enabled` row, the graph migrations 008/009 and the evolution migration 011), then stores
ten memories the way store() does (SAVEPOINT, tombstone purge, INSERT, vector INSERT, commit)
and soft-deletes one the way delete() does. Run by hand when the fixture must change:

  /usr/bin/python3 scripts/make-python-db-fixture.py   (needs `npm install` for sqlite-vec)
"""
import datetime
import hashlib
import json
import os
import random
import sqlite3
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "python_service.db")
VEC0 = os.path.join(ROOT, "node_modules", "sqlite-vec-linux-x64", "vec0")
DIM = 384

# (content, tags CSV, memory_type). Non-ASCII text, a CSV with a space after the comma, no type,
# and an empty tags column (as versions before "untagged" wrote it).
ROWS = [
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
BASE = 1735689600.0  # 2025-01-01T00:00:00Z; row i is created at BASE + i days + 0.25 s


def connect():
    """_connect_and_load_extension(): connect, load sqlite-vec, per-connection pragmas."""
    conn = sqlite3.connect(OUT, timeout=15.0)
    conn.enable_load_extension(True)
    conn.load_extension(VEC0)
    conn.enable_load_extension(False)
    for name, value in (("journal_mode", "WAL"), ("busy_timeout", "5000"),
                        ("synchronous", "NORMAL"), ("cache_size", "10000"),
                        ("temp_store", "MEMORY")):
        conn.execute(f"PRAGMA {name}={value}")
    return conn


def initialize(conn):
    """initialize() on a new file, in its order."""
    conn.execute("""
        CREATE TABLE IF NOT EXISTS metadata (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""")
    conn.execute("""
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
        )""")
    # The L2 -> cosine check finds no distance_metric row and drops the (absent) vec table.
    conn.execute("DROP TABLE IF EXISTS memory_embeddings")
    conn.execute(f"""
        CREATE VIRTUAL TABLE IF NOT EXISTS memory_embeddings USING vec0(
            content_embedding FLOAT[{DIM}] distance_metric=cosine
        )""")
    conn.execute("INSERT OR REPLACE INTO metadata (key, value) VALUES ('distance_metric', 'cosine')")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_content_hash ON memories(content_hash)")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_created_at ON memories(created_at)")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_memory_type ON memories(memory_type)")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_deleted_at ON memories(deleted_at)")
    # _ensure_fts5_initialized()
    conn.execute("""
        CREATE VIRTUAL TABLE IF NOT EXISTS memory_content_fts USING fts5(
            content,
            content='memories',
            content_rowid='id',
            tokenize='trigram'
        )""")
    conn.execute("""
        CREATE TRIGGER IF NOT EXISTS memories_fts_ai AFTER INSERT ON memories
        BEGIN
            INSERT INTO memory_content_fts(rowid, content)
            VALUES (new.id, new.content);
        END;""")
    conn.execute("""
        CREATE TRIGGER IF NOT EXISTS memories_fts_au AFTER UPDATE ON memories
        BEGIN
            DELETE FROM memory_content_fts WHERE rowid = old.id;
            INSERT INTO memory_content_fts(rowid, content)
            VALUES (new.id, new.content);
        END;""")
    conn.execute("""
        CREATE TRIGGER IF NOT EXISTS memories_fts_ad AFTER DELETE ON memories
        BEGIN
            DELETE FROM memory_content_fts WHERE rowid = old.id;
        END;""")
    conn.execute("INSERT INTO memory_content_fts(memory_content_fts) VALUES('rebuild')")
    conn.execute("INSERT OR REPLACE INTO metadata (key, value) VALUES ('fts5_enabled', 'true')")
    conn.commit()
    # Graph migrations (MigrationRunner.run_migrations_sync: executescript per file). 010 only
    # deletes reverse edges through a temporary table: no lasting effect on an empty graph.
    conn.executescript("""
        CREATE TABLE IF NOT EXISTS memory_graph (
            source_hash TEXT NOT NULL,
            target_hash TEXT NOT NULL,
            similarity REAL NOT NULL,
            connection_types TEXT NOT NULL,
            metadata TEXT,
            created_at REAL NOT NULL,
            PRIMARY KEY (source_hash, target_hash)
        );
        CREATE INDEX IF NOT EXISTS idx_graph_source ON memory_graph(source_hash);
        CREATE INDEX IF NOT EXISTS idx_graph_target ON memory_graph(target_hash);""")
    conn.executescript("""
        ALTER TABLE memory_graph ADD COLUMN relationship_type TEXT DEFAULT 'related';
        CREATE INDEX IF NOT EXISTS idx_graph_relationship ON memory_graph(relationship_type);""")
    # Evolution migration 011.
    conn.executescript("""
        ALTER TABLE memories ADD COLUMN parent_id TEXT;
        ALTER TABLE memories ADD COLUMN version INTEGER DEFAULT 1;
        ALTER TABLE memories ADD COLUMN confidence REAL DEFAULT 1.0;
        ALTER TABLE memories ADD COLUMN last_accessed INTEGER;
        ALTER TABLE memories ADD COLUMN superseded_by TEXT;""")


def iso(ts):
    return datetime.datetime.utcfromtimestamp(ts).isoformat() + "Z"


def store(conn, i, content, tags, memory_type, vector):
    """store(): one SAVEPOINT with the tombstone purge, the row and its vector, then commit."""
    created = BASE + i * 86400 + 0.25
    content_hash = hashlib.sha256(content.strip().lower().encode("utf-8")).hexdigest()
    conn.execute("SAVEPOINT store_fixture")
    conn.execute("DELETE FROM memories WHERE content_hash = ? AND deleted_at IS NOT NULL",
                 (content_hash,))
    cur = conn.execute("""
        INSERT INTO memories (
            content_hash, content, tags, memory_type,
            metadata, created_at, updated_at, created_at_iso, updated_at_iso
        ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (content_hash, content, tags, memory_type, json.dumps({"source": "python", "n": i}),
         created, created, iso(created), iso(created)))
    conn.execute("INSERT INTO memory_embeddings (rowid, content_embedding) VALUES (?, ?)",
                 (cur.lastrowid, struct.pack(f"{DIM}f", *vector)))
    conn.execute("RELEASE SAVEPOINT store_fixture")
    conn.commit()
    return content_hash, created


def soft_delete(conn, content_hash, when):
    """delete(): drop the vector and graph edges, set deleted_at, commit."""
    (memory_id,) = conn.execute(
        "SELECT id FROM memories WHERE content_hash = ? AND deleted_at IS NULL",
        (content_hash,)).fetchone()
    conn.execute("DELETE FROM memory_embeddings WHERE rowid = ?", (memory_id,))
    conn.execute("DELETE FROM memory_graph WHERE source_hash = ? OR target_hash = ?",
                 (content_hash, content_hash))
    conn.execute("UPDATE memories SET deleted_at = ? WHERE content_hash = ? AND deleted_at IS NULL",
                 (when, content_hash))
    conn.commit()


def main():
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(OUT + suffix):
            os.remove(OUT + suffix)
    conn = connect()
    initialize(conn)
    random.seed(7)
    for i, (content, tags, memory_type) in enumerate(ROWS):
        vector = [random.uniform(-1, 1) for _ in range(DIM)]
        content_hash, created = store(conn, i, content, tags, memory_type, vector)
        if content.startswith("A soft-deleted"):
            soft_delete(conn, content_hash, created + 3600)
    conn.execute("VACUUM")
    conn.close()
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
