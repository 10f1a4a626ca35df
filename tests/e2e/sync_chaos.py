#!/usr/bin/env python3
"""Chaos test of live sync: a hub and three spokes as real processes on loopback HTTPS.

For --duration seconds a random workload, drawn from --seed, runs against them: stores (with
tags, a type and metadata), the same text stored on two nodes (sometimes in other letter case),
updates of metadata (a new key each time, and sometimes the one shared key "owner"), tags and
type, deletes (by hash, rarely by tag), re-stores of deleted memories, writes on the hub's
database through the CLI beside the running server, some of them several at once on different
nodes or the same one; `sync --once` rounds and background `sync --interval 1` loops; spokes
offline for a while; kill -9 of CLI writers and syncs at random points (0-40 ms after start
half the time, else anywhere in such a command's usual run time), of the background loops and
of the hub (restarted on the same port and directory). Spoke c runs every command under
`faketime -f +600s`, 10 minutes fast. Past half the duration, any kind of event that has not
happened yet comes next, so even a short run has them all.

Then it settles (background processes stopped, the hub up, every spoke synced `--once` in
turn until a whole round changes nothing) and checks:
  a. every node holds the same full state (`export --include-deleted`, per content hash:
     version, alive/deleted, content, tags, type, metadata, created_at, and the rest of the
     record), and nothing that was never stored;
  b. every acknowledged store (exit 0, or 3 = duplicate) is there, alive or as a tombstone;
  c. a tombstone had a delete issued on it, and no acknowledged re-store saw every delete;
     a re-store that lost to a delete it never saw is a recorded conflict;
  d. a memory alive after an acknowledged delete was stored again by a write that delete did
     not see; one whose every store finished before the delete began (so it won only as a
     concurrent write) is a recorded conflict (the merge records a "deleted" field lost);
  e. in memories never deleted, every metadata key written by an acknowledged store or update
     is there with its value, the unique tag of each acknowledged write is there unless a later
     tag edit may have removed it, and an acknowledged change of the type or of "owner" holds
     unless a write that set it may have come later; else it lost to a concurrent write, which
     is a recorded conflict naming that field.
"Saw" is what the operation log proves: a write on the same node that finished before the
other began, or a chain of acknowledged `sync --once` rounds that began after the write had
finished (background loops are not counted, so the checks never assume more than was shown).

Every operation (node, real start and end time, exit code, arguments) is written to
WORK/ops.log. The seed is printed first; the same seed replays the same choices (process
timing, and so the outcome of each kill, still varies).

Usage: sync_chaos.py BIN [--seed N] [--duration SECONDS] [--work DIR]
Python 3 standard library only.
"""

import argparse
import bisect
import ctypes
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import tempfile
import time

API_KEY = "sync-chaos-key"
SPOKES = ("a", "b", "c")
NODES = ("hub",) + SPOKES
CLOCK_WRAPPER = {"c": ["faketime", "-f", "+600s"]}  # spoke c is 10 minutes fast
OP_TIMEOUT = 60.0
TAG_POOL = ["infra", "ops", "notes", "red", "green", "blue", "later", "shared"]
TYPE_POOL = [None, "note", "decision", "reference"]
SHARED_KEY = "owner"  # the metadata key that several writes set (the others are unique)
# Fields the issue names for the comparison; the rest of a record is compared too.
PRIMARY_FIELDS = ("hlc", "state", "content", "tags", "memory_type", "metadata", "created_at")
NODE_LOCAL_FIELDS = ("export_source", "embedding")

try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:
    _LIBC = None


def _child_setup():
    """Runs in each child before exec: die with this script (PR_SET_PDEATHSIG = 1)."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL, 0, 0, 0)


def content_hash(text):
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Failure(Exception):
    """The test found something wrong (or could not go on); the message says what."""


class Op:
    """One operation: a CLI command, a background loop, or a hub kill/start."""

    def __init__(self, oid, node, kind, args=(), **attrs):
        self.id = oid
        self.node = node
        self.kind = kind  # store update delete sync bgsync export conflicts hub-kill hub-start
        self.args = list(args)
        self.t0 = self.t1 = None
        self.rc = None
        self.out = ""
        self.err = ""
        self.planned_kill = None  # seconds after start the kill was planned for
        self.phase = "work"
        self.hash = None
        self.text = None
        self.meta = {}
        self.tags = None
        self.type = None  # set only by ops that set the type (stores always do)
        self.sets_type = False
        self.reply_hash = None
        self.__dict__.update(attrs)

    @property
    def killed(self):
        return self.rc is not None and self.rc < 0

    @property
    def acked(self):
        if self.kind == "store":
            return self.rc in (0, 3)
        return self.rc == 0

    @property
    def applied_maybe(self):
        """Might have written: acknowledged (a store that stored), or killed mid-way."""
        if self.kind == "store":
            return self.rc == 0 or self.killed
        return self.rc == 0 or self.killed


class Chaos:
    def __init__(self, src_bin, seed, duration, work, made_work):
        self.seed = seed
        self.duration = duration
        self.work = work
        self.made_work = made_work
        self.rng = random.Random(seed)
        self.bin = os.path.join(work, "mcp-memory")
        shutil.copy2(src_bin, self.bin)
        os.chmod(self.bin, 0o755)
        for n in NODES:
            os.makedirs(os.path.join(work, n), exist_ok=True)
        os.makedirs(os.path.join(work, "logs"), exist_ok=True)
        self.port = free_port()
        self.url = "https://127.0.0.1:%d" % self.port
        self.ca = os.path.join(work, "hub", "tls", "cert.pem")
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("MCP_", "FAKETIME", "LD_PRELOAD"))}
        self.env.update(MCP_API_KEY=API_KEY, MCP_BACKUP_ENABLED="false")
        self.live = {}  # pid -> Popen, every child not yet reaped
        self.ops = []
        self.log = open(os.path.join(work, "ops.log"), "w")
        self.start = time.time()
        self.hub = None  # (Popen, Op)
        self.hub_log = open(os.path.join(work, "hub.log"), "ab")
        self.bg = {}  # spoke -> (Popen, Op, step at which to kill it)
        self.uniq = 0
        # What the workload believes each node holds: only steers its choices, from what it
        # issued (never from outcomes), so one seed makes the same choices again.
        self.node_has = {n: set() for n in NODES}
        self.deleted_guess = set()
        self.texts = {}  # content hash -> text
        self.step = 0
        self.phase = "work"
        self.durations = {}  # (node, kind) -> recent durations of acknowledged ops
        self.conflicts_truncated = False
        self.done = {}  # action -> how often it was chosen
        self.offline_until = {n: 0 for n in SPOKES}
        self.hub_down_until = None
        self.counts = {"hub_kills": 0, "bg_kills": 0, "writer_kills": 0, "sync_kills": 0}
        self.vocab = ["".join(self.rng.choice(string.ascii_lowercase)
                              for _ in range(self.rng.randint(4, 9))) for _ in range(400)]

    # ---- processes -------------------------------------------------------------------------

    def now(self):
        return time.time() - self.start

    def spawn(self, node, args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        env = dict(self.env, MCP_MEMORY_BASE_DIR=os.path.join(self.work, node),
                   MCP_MEMORY_NODE_NAME=node)
        cmd = CLOCK_WRAPPER.get(node, []) + [self.bin] + list(args)
        p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                             stderr=stderr, start_new_session=True, preexec_fn=_child_setup)
        p.faketime = node in CLOCK_WRAPPER
        self.live[p.pid] = p
        return p

    def kill(self, p):
        """SIGKILL a child's whole process group (faketime runs the binary as its child)."""
        if p.pid not in self.live or p.returncode is not None:
            return
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if p.faketime:
            # The faketime wrapper keeps a semaphore and shared memory named after its pid
            # and removes them when it exits; killed, it leaves them, and a later wrapper
            # given the same pid then fails ("sem_open: File exists"). Remove them once it is
            # dead but not yet reaped, while its pid cannot be anyone else's.
            try:
                os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
            except ChildProcessError:
                pass
            for name in ("faketime_shm_%d", "sem.faketime_sem_%d"):
                try:
                    os.unlink(os.path.join("/dev/shm", name % p.pid))
                except OSError:
                    pass

    def reap(self, p):
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise Failure("process %d did not die after SIGKILL" % p.pid)
        self.live.pop(p.pid, None)

    def cleanup(self):
        for p in list(self.live.values()):
            self.kill(p)
        for p in list(self.live.values()):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.live.pop(p.pid, None)
        for f in (self.log, self.hub_log):
            try:
                f.close()
            except OSError:
                pass

    # ---- the operation log -----------------------------------------------------------------

    def new_op(self, node, kind, args=(), **attrs):
        op = Op(len(self.ops) + 1, node, kind, args, **attrs)
        op.phase = self.phase
        self.ops.append(op)
        return op

    def line(self, op):
        rc = "-" if op.rc is None else str(op.rc)
        if op.rc is None:
            status = "running"
        elif op.killed:
            status = "KILLED(maybe applied)" if op.kind in ("store", "update", "delete") \
                else "KILLED"
        elif op.acked:
            status = "ack"
        else:
            status = "failed"
        t = "%8.3f-%8.3f" % (op.t0 - self.start if op.t0 else -1,
                             op.t1 - self.start if op.t1 else -1)
        args = " ".join(a if (a and " " not in a and '"' not in a) else json.dumps(a)
                        for a in op.args)
        extra = ""
        if op.planned_kill is not None:
            extra += " kill@%.0fms" % (op.planned_kill * 1000)
        if op.reply_hash and op.reply_hash != op.hash:
            extra += " reply-hash=%s" % op.reply_hash[:12]
        err = op.err.strip().splitlines()
        if err and not op.acked and op.kind not in ("bgsync", "hub-start"):
            extra += " err=%s" % json.dumps(err[-1][:160])
        return "#%04d %-5s %-4s %-9s rc=%-3s %-21s t=%s%s  %s" % (
            op.id, op.phase, op.node, op.kind, rc, status, t, extra, args)

    def finish(self, op):
        if op.rc == 0 and op.t1 is not None and op.kind in ("store", "update", "delete", "sync"):
            d = self.durations.setdefault((op.node, op.kind), [])
            d.append(op.t1 - op.t0)
            del d[:-50]
        if op.kind == "store" and op.out:
            try:
                op.reply_hash = json.loads(op.out).get("content_hash")
            except ValueError:
                pass
        self.log.write(self.line(op) + "\n")
        self.log.flush()

    def run_ops(self, specs, timeout=OP_TIMEOUT):
        """Runs several CLI operations at once (each a spec: node, kind, args, optional
        kill_after and attributes); returns their ops when all have ended."""
        running = []
        for s in specs:
            s = dict(s)
            kill_after = s.pop("kill_after", None)
            op = self.new_op(s.pop("node"), s.pop("kind"), s.pop("args"), **s)
            op.planned_kill = kill_after
            # Output goes to files, not pipes: nothing is read until the op ends, and an export
            # is larger than a pipe's buffer.
            outf, errf = tempfile.TemporaryFile(), tempfile.TemporaryFile()
            op.t0 = time.time()
            p = self.spawn(op.node, op.args, stdout=outf, stderr=errf)
            p.outf, p.errf = outf, errf
            running.append((op, p, None if kill_after is None else op.t0 + kill_after))
        deadline = time.time() + timeout
        pending = list(running)
        hung = []
        while pending:
            now = time.time()
            for item in list(pending):
                op, p, kill_at = item
                if p.poll() is not None:
                    op.t1 = time.time()
                elif kill_at is not None and now >= kill_at:
                    self.kill(p)
                    p.wait()
                    op.t1 = time.time()
                elif now > deadline:
                    self.kill(p)
                    p.wait()
                    op.t1 = time.time()
                    hung.append(op)
                else:
                    continue
                self.live.pop(p.pid, None)
                op.rc = p.returncode
                op.out, op.err = self.read_output(p)
                pending.remove(item)
                self.finish(op)
            if pending:
                nxt = min([k for _, _, k in pending if k is not None] + [now + 0.002])
                time.sleep(max(0.0, min(0.002, nxt - time.time())))
        if hung:
            raise Failure("operation did not end within %.0f s (killed): %s"
                          % (timeout, self.line(hung[0])))
        return [op for op, _, _ in running]

    @staticmethod
    def read_output(p):
        texts = []
        for f in (p.outf, p.errf):
            f.seek(0)
            texts.append(f.read().decode(errors="replace"))
            f.close()
        return texts

    def run_op(self, spec, timeout=OP_TIMEOUT):
        return self.run_ops([spec], timeout)[0]

    # ---- the hub ---------------------------------------------------------------------------

    def hub_answers(self):
        try:
            ctx = ssl.create_default_context(cafile=self.ca)
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=2)
            conn.request("GET", "/api/health")
            conn.getresponse().read()
            conn.close()
            return True
        except (OSError, ssl.SSLError, http.client.HTTPException, ValueError):
            return False

    def start_hub(self, wait=True):
        for attempt in range(5):
            op = self.new_op("hub", "hub-start", ["serve", "--https", "--port", str(self.port)])
            op.t0 = time.time()
            p = self.spawn("hub", op.args, stdout=subprocess.DEVNULL, stderr=self.hub_log)
            self.hub = (p, op)
            if not wait:
                op.t1 = op.t0
                op.rc = 0
                self.finish(op)
                return
            deadline = time.time() + 30
            while time.time() < deadline:
                if p.poll() is not None:
                    break
                if self.hub_answers():
                    op.t1 = time.time()
                    op.rc = 0
                    self.finish(op)
                    return
                time.sleep(0.02)
            op.t1 = time.time()
            if p.poll() is None:
                self.kill(p)
            self.reap(p)
            op.rc = p.returncode
            self.finish(op)
            self.hub = None
            time.sleep(0.5)  # e.g. the port still held after a kill: try again
        raise Failure("the hub did not start (5 attempts); last lines of %s:\n%s"
                      % (os.path.join(self.work, "hub.log"), self.tail("hub.log")))

    def kill_hub(self, strict=True):
        """kill -9 of the hub; it must still be running unless not `strict` (a hub killed
        while it starts up, which may not have got as far as its port)."""
        if self.hub is None:
            return
        p = self.hub[0]
        op = self.new_op("hub", "hub-kill", ["kill -9 hub pid %d" % p.pid])
        op.t0 = time.time()
        if p.poll() is not None and strict:
            self.hub_log.write(b"[sync_chaos] the hub had exited by itself\n")
            raise Failure("the hub exited by itself (rc %s) before it was killed; see %s:\n%s"
                          % (p.returncode, os.path.join(self.work, "hub.log"),
                             self.tail("hub.log")))
        self.kill(p)
        self.reap(p)
        op.t1 = time.time()
        op.rc = 0
        self.finish(op)
        self.hub = None
        self.counts["hub_kills"] += 1

    def tail(self, name, n=20):
        self.hub_log.flush()
        try:
            with open(os.path.join(self.work, name), "rb") as f:
                return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    # ---- background syncers ----------------------------------------------------------------

    def sync_args(self, once=True):
        args = ["sync", "--hub", self.url, "--hub-ca", self.ca]
        return args + (["--once"] if once else ["--interval", "1"])

    def start_bg(self, spoke, lifetime):
        op = self.new_op(spoke, "bgsync", self.sync_args(once=False))
        logf = open(os.path.join(self.work, "logs", "bgsync-%04d-%s.log" % (op.id, spoke)), "wb")
        op.t0 = time.time()
        p = self.spawn(spoke, op.args, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.bg[spoke] = (p, op, self.step + lifetime)

    def kill_bg(self, spoke):
        p, op, _ = self.bg.pop(spoke)
        exited = p.poll()
        self.kill(p)
        self.reap(p)
        op.t1 = time.time()
        op.rc = p.returncode
        self.finish(op)
        self.counts["bg_kills"] += 1
        if exited is not None:
            raise Failure("background syncer on %s exited by itself (rc %s) before its kill: "
                          "see %s" % (spoke, exited, os.path.join(
                              self.work, "logs", "bgsync-%04d-%s.log" % (op.id, spoke))))

    # ---- the workload ----------------------------------------------------------------------

    def next_uniq(self):
        self.uniq += 1
        return self.uniq

    def new_text(self):
        n = self.next_uniq()
        words = [self.rng.choice(self.vocab) for _ in range(self.rng.randint(6, 12))]
        return "%s memory %d of seed %d" % (" ".join(words), n, self.seed)

    def write_node(self):
        return "hub" if self.rng.random() < 0.15 else self.rng.choice(SPOKES)

    def pick_hash(self, node, alive=True):
        pool = self.node_has[node] - self.deleted_guess if alive else self.node_has[node]
        if not pool or self.rng.random() < 0.1:
            everything = set(self.texts)
            pool = everything - self.deleted_guess if alive else everything
        if not pool:
            return None
        return self.rng.choice(sorted(pool))

    def spec_store(self, node, text=None):
        """A store of a new text, or of `text` again: then a quarter of the time in other
        letter case (the same memory: the hash is of the lower-cased text)."""
        if text is None:
            text = self.new_text()
        elif self.rng.random() < 0.25:
            text = self.rng.choice([text.upper(), text.title(), text.capitalize()])
        h = content_hash(text)
        self.texts.setdefault(h, text)
        n = self.next_uniq()
        tags = ["u%d" % n] + self.rng.sample(TAG_POOL, self.rng.randint(0, 2))
        meta = {"s%d" % n: "v"}
        if self.rng.random() < 0.2:
            meta[SHARED_KEY] = "o%d" % n
        mtype = self.rng.choice(TYPE_POOL)
        args = ["--json", "store", text, "--tags", ",".join(tags), "--metadata", json.dumps(meta)]
        if mtype:
            args += ["--type", mtype]
        return dict(node=node, kind="store", args=args, hash=h, text=text, tags=tags, meta=meta,
                    type=mtype, sets_type=True)

    def spec_update(self, node, h, what=None):
        n = self.next_uniq()
        what = what or self.rng.choice(["meta", "meta", "meta", "tags", "type", "tags+meta"])
        args = ["--json", "update", h]
        spec = dict(node=node, kind="update", hash=h, text=self.texts[h])
        if "tags" in what:
            tags = ["u%d" % n] + self.rng.sample(TAG_POOL, self.rng.randint(0, 2))
            args += ["--tags", ",".join(tags)]
            spec["tags"] = tags
        if "meta" in what:
            meta = {"k%d" % n: "v"}
            if self.rng.random() < 0.3:
                meta[SHARED_KEY] = "o%d" % n  # one key many writes set: a register
            args += ["--metadata", json.dumps(meta)]
            spec["meta"] = meta
        if "type" in what:
            spec["type"] = "t%d" % n
            spec["sets_type"] = True
            args += ["--type", spec["type"]]
        spec["args"] = args
        return spec

    def spec_delete(self, node, h):
        return dict(node=node, kind="delete", args=["--json", "delete", h], hash=h,
                    text=self.texts[h])

    def spec_random_write(self, node=None):
        node = node or self.write_node()
        r = self.rng.random()
        if r < 0.3 or not self.texts:
            return self.spec_store(node)
        if r < 0.4 and self.deleted_guess:
            h = self.rng.choice(sorted(self.deleted_guess))
            return self.spec_store(node, self.texts[h])
        h = self.pick_hash(node)
        if h is None:
            return self.spec_store(node)
        if r < 0.75:
            return self.spec_update(node, h)
        return self.spec_delete(node, h)

    def believe(self, spec):
        """Updates what the workload believes from an op it issued (not from its outcome)."""
        if spec.get("kill_after") is not None:
            return
        h = spec.get("hash")
        if spec["kind"] == "store":
            self.node_has[spec["node"]].add(h)
            self.deleted_guess.discard(h)
        elif spec["kind"] == "delete":
            self.deleted_guess.add(h)

    def write(self, specs):
        ops = self.run_ops(specs)
        for s in specs:
            self.believe(s)
        return ops

    def online(self, spoke):
        return self.offline_until[spoke] <= self.step

    def sync_once(self, spoke, kill_after=None):
        op = self.run_op(dict(node=spoke, kind="sync", args=["--json"] + self.sync_args(),
                              kill_after=kill_after))
        if kill_after is None and self.hub is not None:
            self.node_has["hub"] |= self.node_has[spoke]
            self.node_has[spoke] |= self.node_has["hub"]
        return op

    ACTIONS = [("store", 16), ("same_text", 5), ("update", 20), ("delete", 7), ("restore", 4),
               ("sync", 16), ("burst", 5), ("kill_writer", 6), ("kill_sync", 2),
               ("bg_start", 3), ("bg_kill", 1), ("offline", 2), ("hub_kill", 1.2),
               ("tag_delete", 0.3)]
    # Each of these happens at least once: past half the duration, one not done yet is next.
    MUST = ("same_text", "restore", "burst", "kill_writer", "bg_start", "offline", "hub_kill")

    def act(self, late):
        rng = self.rng
        action = rng.choices([a for a, _ in self.ACTIONS], [w for _, w in self.ACTIONS])[0]
        missing = [a for a in self.MUST if late and not self.done.get(a)]
        for a in missing + [action]:
            if getattr(self, "act_" + a)(rng, [s for s in SPOKES if self.online(s)]):
                self.done[a] = self.done.get(a, 0) + 1
                return

    # Each act_* returns whether it could do something.

    def act_store(self, rng, online):
        self.write([self.spec_store(self.write_node())])
        return True

    def act_same_text(self, rng, online):
        text = self.new_text()
        n1, n2 = self.two_nodes()
        specs = [self.spec_store(n1, text), self.spec_store(n2, text)]
        if rng.random() < 0.5:
            self.write(specs)
        else:
            self.write(specs[:1])
            self.write(specs[1:])
        return True

    def act_update(self, rng, online, kind="update"):
        node = self.write_node()
        h = self.pick_hash(node)
        if h is None:
            return False
        self.write([self.spec_update(node, h) if kind == "update" else self.spec_delete(node, h)])
        return True

    def act_delete(self, rng, online):
        return self.act_update(rng, online, kind="delete")

    def act_tag_delete(self, rng, online):
        # `delete --tags`: every memory with the tag on that node; the reply names them, and
        # each becomes a delete op of its own (same node, times and exit code) for the checks.
        node = self.write_node()
        tag = rng.choice(["later", "shared"])
        op = self.run_op(dict(node=node, kind="delete", args=["--json", "delete", "--tags", tag]))
        if op.rc == 0:
            for h in json.loads(op.out).get("content_hashes", []):
                d = self.new_op(node, "delete", ["(deleted by --tags %s in #%d)" % (tag, op.id)],
                                hash=h, text=self.texts.get(h))
                d.t0, d.t1, d.rc = op.t0, op.t1, op.rc
                self.finish(d)
        return True

    def act_restore(self, rng, online):
        if not self.deleted_guess:
            return False
        h = rng.choice(sorted(self.deleted_guess))
        self.write([self.spec_store(self.write_node(), self.texts[h])])
        return True

    def act_sync(self, rng, online):
        if not online:
            return False
        if rng.random() < 0.2:
            for s in online:
                self.sync_once(s)
        else:
            self.sync_once(rng.choice(online))
        return True

    def act_burst(self, rng, online):
        # Two or three writes of one memory at once, on different nodes or (as two processes
        # racing for one database) on the same one.
        if not self.texts:
            return False
        h = rng.choice(sorted(self.texts))
        nodes = rng.sample(NODES, rng.randint(2, 3))
        if rng.random() < 0.3:
            nodes[1] = nodes[0]
        specs = []
        for n in nodes:
            r = rng.random()
            if r < 0.55:
                specs.append(self.spec_update(n, h))
            elif r < 0.8:
                specs.append(self.spec_delete(n, h))
            else:
                specs.append(self.spec_store(n, self.texts[h]))
        self.write(specs)
        return True

    def act_kill_writer(self, rng, online):
        spec = self.spec_random_write()
        spec["kill_after"] = self.kill_point(spec, rng.random())
        self.counts["writer_kills"] += 1
        self.write([spec])
        return True

    def act_kill_sync(self, rng, online):
        if not online:
            return False
        self.counts["sync_kills"] += 1
        spoke = rng.choice(online)
        self.sync_once(spoke, kill_after=self.kill_point(dict(node=spoke, kind="sync"),
                                                         rng.random()))
        return True

    def act_bg_start(self, rng, online):
        idle = [s for s in online if s not in self.bg]
        if not idle:
            return False
        self.start_bg(rng.choice(idle), rng.randint(5, 40))
        return True

    def act_bg_kill(self, rng, online):
        if not self.bg:
            return False
        self.kill_bg(rng.choice(sorted(self.bg)))
        return True

    def act_offline(self, rng, online):
        if not online:
            return False
        s = rng.choice(online)
        self.offline_until[s] = self.step + rng.randint(10, 40)
        if s in self.bg:
            self.kill_bg(s)
        return True

    def act_hub_kill(self, rng, online):
        if self.hub is None:
            return False
        down_for = rng.choice([0, 0, 1, 2, 4, 6])
        if online and rng.random() < 0.5:
            # In the middle of a sync: start one, kill the hub under it.
            spoke = rng.choice(online)
            op = self.new_op(spoke, "sync", ["--json"] + self.sync_args())
            outf, errf = tempfile.TemporaryFile(), tempfile.TemporaryFile()
            op.t0 = time.time()
            p = self.spawn(spoke, op.args, stdout=outf, stderr=errf)
            p.outf, p.errf = outf, errf
            time.sleep(rng.uniform(0, 0.15))
            self.kill_hub()
            hung = False
            try:
                p.wait(timeout=OP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill(p)
                p.wait()
                hung = True
            self.live.pop(p.pid, None)
            op.t1 = time.time()
            op.rc = p.returncode
            op.out, op.err = self.read_output(p)
            self.finish(op)
            if hung:
                raise Failure("a sync hung after the hub was killed: " + self.line(op))
        else:
            self.kill_hub()
        if rng.random() < 0.25:
            # Once more while it starts up (opening the database, its first requests).
            self.start_hub(wait=False)
            time.sleep(rng.uniform(0, 0.1))
            self.kill_hub(strict=False)
        self.hub_down_until = self.step + down_for
        return True

    def kill_point(self, spec, r):
        """Seconds after its start to kill an op: half the time within 0-40 ms, else anywhere
        up to 1.2 times how long such an op usually takes here (a CLI command needs ~50-150 ms
        to start and write, so 40 ms alone would mostly kill it before it writes)."""
        if r < 0.5:
            return 0.080 * r
        done = sorted(self.durations.get((spec["node"], spec["kind"]), []))
        typical = done[len(done) // 2] if done else 0.1
        return 1.2 * typical * (r - 0.5) * 2

    def two_nodes(self):
        if self.rng.random() < 0.2:
            return "hub", self.rng.choice(SPOKES)
        n1, n2 = self.rng.sample(SPOKES, 2)
        return n1, n2

    def housekeeping(self):
        for s, (p, op, kill_step) in sorted(self.bg.items()):
            if kill_step <= self.step:
                self.kill_bg(s)
        if self.hub is None and self.hub_down_until is not None \
                and self.hub_down_until <= self.step:
            self.start_hub()
            self.hub_down_until = None
        if self.hub is not None and self.hub[0].poll() is not None:
            raise Failure("the hub exited by itself (rc %s); see %s:\n%s"
                          % (self.hub[0].returncode, os.path.join(self.work, "hub.log"),
                             self.tail("hub.log")))

    # ---- settle ----------------------------------------------------------------------------

    def export_state(self, node):
        op = self.run_op(dict(node=node, kind="export",
                              args=["export", "--include-deleted", "-o", "-"]))
        if op.rc != 0:
            raise Failure("export on %s failed: %s" % (node, self.line(op)))
        try:
            data = json.loads(op.out)
        except ValueError as e:
            raise Failure("export on %s is not JSON (%s): %s" % (node, e, op.out[:300]))
        op.out = ""  # not kept in memory
        state = {}
        for key, alive in (("memories", True), ("tombstones", False)):
            for m in data.get(key) or []:
                rec = {k: v for k, v in m.items() if k not in NODE_LOCAL_FIELDS}
                rec["state"] = "alive" if alive else "deleted"
                rec["tags"] = sorted(set(rec.get("tags") or []))
                h = rec.get("content_hash")
                if h in state:
                    raise Failure("export on %s lists %s twice (%s and %s)"
                                  % (node, h, state[h]["state"], rec["state"]))
                state[h] = rec
        return state

    def snapshot(self):
        return {n: self.export_state(n) for n in NODES}

    def settle(self):
        self.phase = "settle"
        for s in sorted(self.bg):
            self.kill_bg(s)
        if self.hub is None:
            self.start_hub()
        elif not self.hub_answers():
            raise Failure("the hub does not answer at settle time")
        before = None
        for rnd in range(1, 7):
            for s in SPOKES:
                for attempt in range(3):
                    op = self.sync_once(s)
                    if op.rc == 0:
                        break
                    time.sleep(0.5)
                else:
                    raise Failure("settle round %d: sync of %s fails: %s"
                                  % (rnd, s, self.line(op)))
            after = self.snapshot()
            if before is not None and after == before:
                return after, rnd
            before = after
        raise Failure("no quiet round after 6 settle rounds: a round still changed the state "
                      "(e.g. %s)" % self.changed_example(before, after))

    @staticmethod
    def changed_example(a, b):
        for n in NODES:
            if a[n] != b[n]:
                keys = sorted(set(a[n]) | set(b[n]))
                for h in keys:
                    if a[n].get(h) != b[n].get(h):
                        return "%s on %s" % (h[:12], n)
        return "?"

    # ---- checks ----------------------------------------------------------------------------

    def conflicts(self):
        by_hash = {}
        for n in NODES:
            op = self.run_op(dict(node=n, kind="conflicts",
                                  args=["--json", "sync", "conflicts", "--all"]))
            if op.rc != 0:
                raise Failure("sync conflicts on %s failed: %s" % (n, self.line(op)))
            listed = json.loads(op.out)
            if len(listed) >= 1000:  # the CLI lists at most 1000
                self.conflicts_truncated = True
            for c in listed:
                by_hash.setdefault(c["content_hash"], []).append((n, c))
        return by_hash

    def has_conflict(self, cf, field):
        """Does some node record a conflict of this memory that lost `field`? (Assumed yes when
        a node's list was cut at the CLI's 1000.)"""
        return self.conflicts_truncated or any(field in c.get("fields", []) for _, c in cf)

    def prepare_causality(self):
        self.sync_index = {}
        for s in SPOKES:
            rounds = sorted((op.t0, op.t1) for op in self.ops
                            if op.kind == "sync" and op.node == s and op.rc == 0)
            t0s = [r[0] for r in rounds]
            sufmin = [float("inf")] * (len(rounds) + 1)
            for i in range(len(rounds) - 1, -1, -1):
                sufmin[i] = min(rounds[i][1], sufmin[i + 1])
            self.sync_index[s] = (t0s, sufmin)

    def first_round_end(self, spoke, after):
        """End of the first acknowledged `sync --once` of spoke that began at or after `after`."""
        t0s, sufmin = self.sync_index[spoke]
        return sufmin[bisect.bisect_left(t0s, after)]

    def avail(self, op, node):
        """When `node` surely held op's write (if it was applied), by the log."""
        if op.node == node:
            return op.t1
        at_hub = op.t1 if op.node == "hub" else self.first_round_end(op.node, op.t1)
        if node == "hub" or at_hub == float("inf"):
            return at_hub
        return self.first_round_end(node, at_hub)

    def saw(self, later, earlier):
        """Did `later` surely see `earlier` (the log proves it)?"""
        return self.avail(earlier, later.node) <= later.t0

    def check(self, states, conflicts):
        fails = []
        hub = states["hub"]

        # a. every node holds the same state
        diffs = []
        for h in sorted(set().union(*[set(states[n]) for n in NODES])):
            recs = {n: states[n].get(h) for n in NODES}
            if all(recs[n] == recs["hub"] for n in NODES):
                continue
            fields = set()
            for n in NODES:
                for m in NODES:
                    ra, rb = recs[n] or {}, recs[m] or {}
                    fields |= {k for k in set(ra) | set(rb) if ra.get(k) != rb.get(k)}
            diffs.append((h, recs, fields))
        if diffs:
            out = ["[a] the nodes differ on %d memories" % len(diffs)]
            for h, recs, fields in diffs[:8]:
                prim = [f for f in PRIMARY_FIELDS if f in fields]
                out.append("  memory %s %s: differs in %s%s" % (
                    h[:12], json.dumps(self.texts.get(h, "?")[:50]), ", ".join(prim) or "-",
                    "; also " + ", ".join(sorted(fields - set(PRIMARY_FIELDS)))
                    if fields - set(PRIMARY_FIELDS) else ""))
                for n in NODES:
                    r = recs[n]
                    if r is None:
                        out.append("    %-4s (absent)" % n)
                        continue
                    out.append("    %-4s %s" % (n, json.dumps(
                        {f: r.get(f) for f in sorted(fields)}, sort_keys=True)[:600]))
                out += ["    " + l for l in self.op_lines(h)]
            fails.append("\n".join(out))

        # nothing that was never stored, and the text of each memory is one stored for it
        variants = {}
        for op in self.ops:
            if op.kind == "store" and op.applied_maybe:
                variants.setdefault(op.hash, set()).add(op.text)
        for h, r in sorted(hub.items()):
            if h not in self.texts:
                fails.append("[a] the hub holds %s, which no operation stored" % h)
            elif r["state"] == "alive" and r.get("content") not in variants.get(h, ()):
                fails.append("[a] memory %s holds the text %s, which no store wrote (%s)" % (
                    h[:12], json.dumps(r.get("content")), json.dumps(sorted(variants.get(h, ())))))

        writes = {}
        for op in self.ops:
            if op.kind in ("store", "update", "delete"):
                writes.setdefault(op.hash, []).append(op)

        # b. every acknowledged store is there
        for op in self.ops:
            if op.kind != "store" or not op.acked:
                continue
            if op.rc == 0 and op.reply_hash != op.hash:
                fails.append("[b] store #%d on %s replied hash %s for a text whose hash is %s"
                             % (op.id, op.node, op.reply_hash, op.hash))
            h = op.reply_hash or op.hash
            if h not in hub:
                fails.append(self.fail_msg("b", h, "acknowledged store #%d on %s (exit %d) is "
                                           "on no node at the end" % (op.id, op.node, op.rc)))

        for h, rec in sorted(hub.items()):
            w = writes.get(h, [])
            cf = conflicts.get(h, [])
            deletes = [o for o in w if o.kind == "delete" and o.applied_maybe]
            acked_deletes = [o for o in w if o.kind == "delete" and o.rc == 0]
            stores = [o for o in w if o.kind == "store" and o.applied_maybe]
            acked_stores = [o for o in w if o.kind == "store" and o.rc == 0]
            if rec["state"] == "deleted":
                # c. a tombstone had a delete; the deciding delete was seen by no store that
                # stored (exit 0); a store that began after every delete had ended can only
                # have lost to one it never saw: a conflict that lost "deleted".
                if not deletes:
                    fails.append(self.fail_msg("c", h, "is a tombstone, but no delete of it "
                                               "was acknowledged or killed"))
                    continue
                if acked_stores and not any(all(not self.saw(s, d) for s in acked_stores)
                                            for d in deletes):
                    fails.append(self.fail_msg("c", h, "is a tombstone, but every delete was "
                                               "seen by an acknowledged store that came after "
                                               "it (a lost re-store)"))
                for s in acked_stores:
                    if not any(d.t1 > s.t0 for d in deletes) \
                            and not self.has_conflict(cf, "deleted"):
                        fails.append(self.fail_msg(
                            "c", h, "is a tombstone though acknowledged store #%d on %s began "
                            "after every delete had ended; it can only have lost to a delete "
                            "it never saw, which must be a recorded conflict (field \"deleted\"), "
                            "and no node has one%s" % (s.id, s.node, self.conflict_note(cf))))
                continue
            # d. alive after an acknowledged delete. Only a store can bring a memory back: the
            # rule gives alive/deleted to the newer of the writes that set it (stores and
            # deletes), and "a delete is never undone by an edit made without seeing it", so an
            # update, concurrent or not, never explains a live memory. A version is above every
            # version its node had seen, so the write that decided must be a store no
            # acknowledged delete saw; and when every store ended before a delete began, that
            # store was concurrent with it and won, which merge_concurrent records as a
            # conflict whose loser lost the field "deleted" (on the node where they met).
            if acked_deletes:
                if not any(all(not self.saw(d, s) for d in acked_deletes) for s in stores):
                    fails.append(self.fail_msg("d", h, "is alive, but every store of it was "
                                               "seen by an acknowledged delete (resurrected)%s"
                                               % self.conflict_note(cf)))
                for d in acked_deletes:
                    if not any(s.t1 > d.t0 for s in stores) \
                            and not self.has_conflict(cf, "deleted"):
                        fails.append(self.fail_msg(
                            "d", h, "is alive after acknowledged delete #%d on %s, and every "
                            "store of it ended before that delete began; only a concurrent "
                            "re-store can win over it, which must be a recorded conflict (field "
                            "\"deleted\"), and no node has one%s"
                            % (d.id, d.node, self.conflict_note(cf))))
            if deletes:
                continue
            # e. never deleted: acknowledged metadata keys, unique tags and types hold
            meta = rec.get("metadata") or {}
            for op in w:
                if not (op.rc == 0 and op.kind in ("store", "update")):
                    continue
                for k, v in op.meta.items():
                    if k != SHARED_KEY and meta.get(k) != v:
                        fails.append(self.fail_msg(
                            "e", h, "lost metadata key %s of acknowledged %s #%d on %s "
                            "(final metadata %s)" % (k, op.kind, op.id, op.node,
                                                     json.dumps(meta)[:200])))
                if op.tags:
                    u = op.tags[0]
                    removers = [v for v in w if v is not op and v.kind == "update" and v.tags
                                and v.applied_maybe and v.t1 > op.t0 and u not in v.tags]
                    if u not in rec["tags"] and not removers:
                        fails.append(self.fail_msg(
                            "e", h, "lost tag %s of acknowledged %s #%d on %s, and no later "
                            "tag edit could have removed it (final tags %s)"
                            % (u, op.kind, op.id, op.node, rec["tags"])))
                # Registers (the type, the shared metadata key): an acknowledged edit's value
                # holds unless a write that set the register may have come after it; if none
                # could, it lost to a concurrent one, which is a recorded conflict.
                registers = [("memory_type", "memory_type", lambda o: o.sets_type,
                              lambda o: o.type, rec.get("memory_type"))]
                registers.append(("metadata." + SHARED_KEY, "metadata key " + SHARED_KEY,
                                  lambda o: SHARED_KEY in o.meta, lambda o: o.meta[SHARED_KEY],
                                  meta.get(SHARED_KEY)))
                for field, name, sets, value, final in registers:
                    if op.kind != "update" or not sets(op) or final == value(op):
                        continue
                    others = [v for v in w if v is not op and sets(v) and v.applied_maybe
                              and v.t1 > op.t0]
                    if not others and not self.has_conflict(cf, field):
                        fails.append(self.fail_msg(
                            "e", h, "has %s %s, not %s of acknowledged update #%d on %s; no "
                            "write that set it ran after that update began, so it lost to a "
                            "concurrent one, which must be a recorded conflict (field %s), and "
                            "no node has one%s" % (name, json.dumps(final), json.dumps(value(op)),
                                                   op.id, op.node, field,
                                                   self.conflict_note(cf))))
        return fails

    @staticmethod
    def conflict_note(cf):
        if not cf:
            return "; no node records a conflict for it"
        return "; conflicts recorded: " + ", ".join(
            "%s#%d %s" % (n, c["id"], c["fields"]) for n, c in cf)

    def op_lines(self, h):
        return [self.line(op) for op in self.ops if op.hash == h or op.reply_hash == h]

    def fail_msg(self, check, h, what):
        lines = ["[%s] memory %s %s %s" % (check, h[:12], json.dumps(self.texts.get(h, "?")[:50]),
                                           what)]
        lines.append("    state: " + "; ".join(
            "%s=%s" % (n, self.brief(self.final[n].get(h))) for n in NODES))
        lines += ["    " + l for l in self.op_lines(h)]
        return "\n".join(lines)

    @staticmethod
    def brief(r):
        if r is None:
            return "absent"
        return "%s %s" % (r["state"], r.get("hlc"))

    # ---- main ------------------------------------------------------------------------------

    def run(self):
        self.phase = "work"
        self.start_hub()
        deadline = time.time() + self.duration
        while time.time() < deadline:
            self.step += 1
            self.housekeeping()
            self.act(late=time.time() > deadline - self.duration / 2)
        work_end = time.time()
        states, rounds = self.settle()
        self.final = states
        conflicts = self.conflicts()
        self.prepare_causality()
        fails = self.check(states, conflicts)
        writes = [o for o in self.ops if o.kind in ("store", "update", "delete")]
        hub = states["hub"]
        summary = ("%d operations in %.0f s of workload (%d writes: %d acknowledged, %d killed, "
                   "%d refused; %d acknowledged syncs), %d hub kills, %d syncer kills, %d sync "
                   "kills, %d settle rounds, %d memories at the end (%d alive, %d tombstones), "
                   "%d conflicts recorded, %.0f s in all"
                   % (len(self.ops), work_end - self.start, len(writes),
                      sum(o.acked for o in writes), sum(o.killed for o in writes),
                      sum(not o.acked and not o.killed for o in writes),
                      sum(o.kind == "sync" and o.rc == 0 for o in self.ops),
                      self.counts["hub_kills"], self.counts["bg_kills"],
                      self.counts["sync_kills"], rounds, len(hub),
                      sum(r["state"] == "alive" for r in hub.values()),
                      sum(r["state"] == "deleted" for r in hub.values()),
                      sum(len(v) for v in conflicts.values()), self.now()))
        return fails, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bin", help="the mcp-memory binary (copied to the work directory)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--duration", type=float, default=25.0, help="seconds of workload (25)")
    ap.add_argument("--work", default=None, help="work directory (default: a new temporary one)")
    opts = ap.parse_args()
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(1, 2 ** 31)
    print("seed: %d" % seed, flush=True)
    replay = "replay: %s %s --seed %d --duration %g" % (
        sys.argv[0], opts.bin, seed, opts.duration)
    if not (os.path.isfile(opts.bin) and os.access(opts.bin, os.X_OK)):
        print("FAIL: %s is not an executable file" % opts.bin)
        return 2
    if shutil.which("faketime") is None:
        print("FAIL: faketime is not installed (spoke c runs under it)")
        return 1
    if opts.work:
        work = os.path.abspath(opts.work)
        if os.path.isdir(work) and os.listdir(work):
            print("FAIL: --work %s is not empty" % work)
            return 2
        os.makedirs(work, exist_ok=True)
        made = False
    else:
        work = tempfile.mkdtemp(prefix="sync-chaos-")
        made = True

    print("work dir: %s" % work, flush=True)

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    chaos = None
    ok = False
    try:
        chaos = Chaos(opts.bin, seed, opts.duration, work, made)
        fails, summary = chaos.run()
        if fails:
            print("FAIL: %d problem%s found (seed %d)" % (len(fails), "" if len(fails) == 1
                                                          else "s", seed))
            for f in fails[:40]:
                print(f)
            if len(fails) > 40:
                print("... and %d more" % (len(fails) - 40))
            print(summary)
        else:
            print("PASS: " + summary)
            ok = True
    except Failure as e:
        print("FAIL: %s" % e)
    except KeyboardInterrupt as e:
        print("interrupted (%s)" % (e or "Ctrl+C"))
    except Exception:
        import traceback
        traceback.print_exc()
        print("FAIL: the test itself raised an exception (a bug in sync_chaos.py)")
    finally:
        if chaos is not None:
            chaos.cleanup()
    if ok:
        if made:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    print("work dir kept: %s (operation log: %s)" % (work, os.path.join(work, "ops.log")))
    print(replay)
    return 1


if __name__ == "__main__":
    sys.exit(main())
