#!/usr/bin/python3
"""Builds tests/fixtures/python-vec/: a Python-service database whose sqlite-vec vectors were made
by a model we can run, for the tests of adopting those vectors instead of re-embedding.

The model is the tiny random BERT of tests/fixtures/bert-tiny (hidden size 32) with the
vocabulary written here (vocab.txt: [PAD] [UNK] [CLS] [SEP] [MASK], then whole words); a
directory holding its config.json, model.safetensors and this vocab.txt is what `bert:<dir>`
loads: no modules.json, so mean pooling over the tokens and L2 normalisation, as
sentence-transformers does for such a model. Every memory is lowercase words of the vocabulary
separated by spaces, so tokenizing is a lookup: [CLS] ids [SEP]. Vectors are computed here in
float32 with torch, one sentence at a time, by the encoder of tests/fixtures/bert/
make_bert_fixture.py (transformers' BertModel in plain torch) on the stored weights.

The database is made by make-python-db-fixture.py's code (the Python service's initialize(),
store() and delete()) with FLOAT[32] and the real sqlite-vec extension, then:
  - one memory soft-deleted the Python service's way (vec0 row deleted through sqlite-vec, which
    clears its validity bit, and deleted_at set), after which a new memory reuses the slot;
  - one alive memory whose vec0 row was deleted through sqlite-vec (no vector to adopt);
  - one memory with deleted_at set but its vec0 row left in place (not alive: not adopted).
expected.json records, by memory id, the exact float32 vectors a reader must adopt (and the ids
it must not). Run by hand when the fixture must change (needs python3-torch and `npm install`):

  /usr/bin/python3 scripts/make-python-vec-fixture.py
"""
import importlib.util
import json
import os
import random
import sqlite3
import struct

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "python-vec")
MODEL_DIR = os.path.join(ROOT, "tests", "fixtures", "bert-tiny")


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


base = load_module("python_db", os.path.join(ROOT, "scripts", "make-python-db-fixture.py"))
bert = load_module("bert_fixture", os.path.join(ROOT, "tests", "fixtures", "bert", "make_bert_fixture.py"))

WORDS = ("memory note sqlite vector model python service search index chunk table row "
         "delete store recall meaning word cat dog rain sun moon tree river stone road city "
         "music book light night morning coffee team plan bug fix test build release deploy "
         "server client cache disk file").split()
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
assert len(VOCAB) <= bert.TINY["vocab_size"]
COUNT = 24


def load_weights(model):
    """model.safetensors (F32) into the torch encoder, by transformers' names."""
    with open(os.path.join(MODEL_DIR, "model.safetensors"), "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    state = model.hf_state()
    with torch.no_grad():
        for name, tensor in state.items():
            info = header[name]
            assert info["dtype"] == "F32"
            begin, end = info["data_offsets"]
            array = np.frombuffer(body[begin:end], dtype="<f4").reshape(info["shape"])
            tensor.copy_(torch.from_numpy(array.copy()))


def embed(model, text):
    ids = [VOCAB.index("[CLS]")] + [VOCAB.index(w) for w in text.split(" ")] + [VOCAB.index("[SEP]")]
    x = torch.tensor([ids])
    with torch.no_grad():
        states = model(x, torch.ones_like(x))[0]
    v = F.normalize(states.mean(dim=0), p=2, dim=0)
    return [float(f) for f in v.numpy().astype("<f4")]  # exact float32 values


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    db = os.path.join(OUT_DIR, "python_service_vec.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    torch.set_num_threads(1)
    model = bert.Bert(bert.TINY).float().eval()
    load_weights(model)

    base.OUT, base.DIM = db, model.word.weight.shape[1]  # the base script's globals
    conn = base.connect()
    base.initialize(conn)
    rng = random.Random(14)
    texts = []
    while len(texts) < COUNT:
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        if text not in texts:
            texts.append(text)
    vectors, hashes, not_adopted = {}, {}, {}
    ids = {}
    for i, text in enumerate(texts):
        vector = embed(model, text)
        content_hash, created = base.store(conn, i, text, "python-vec,fixture", "note", vector)
        (memory_id,) = conn.execute("SELECT id FROM memories WHERE content_hash = ?",
                                    (content_hash,)).fetchone()
        ids[i] = memory_id
        hashes[memory_id] = content_hash
        vectors[memory_id] = vector
        if i == 5:  # soft-deleted as the Python service does; the next store reuses its slot
            base.soft_delete(conn, content_hash, created + 60)
            not_adopted[memory_id] = "deleted through the Python service"
        elif i == 9:  # alive, vec0 row deleted through sqlite-vec: nothing to adopt
            conn.execute("DELETE FROM memory_embeddings WHERE rowid = ?", (memory_id,))
            conn.commit()
            not_adopted[memory_id] = "alive without a vec0 vector"
        elif i == 13:  # tombstone whose vec0 row stayed
            conn.execute("UPDATE memories SET deleted_at = ? WHERE id = ?", (created + 60, memory_id))
            conn.commit()
            not_adopted[memory_id] = "deleted_at set, vec0 row kept"
    slots = conn.execute("SELECT rowid, chunk_id, chunk_offset FROM memory_embeddings_rowids "
                         "ORDER BY rowid").fetchall()
    assert any(offset == 5 and rowid != ids[5] for rowid, _, offset in slots), "slot not reused"
    conn.execute("VACUUM")
    conn.close()

    expected = {
        "dimension": base.DIM,
        "model": "tests/fixtures/bert-tiny + tests/fixtures/python-vec/vocab.txt, mean pooling, "
                 "L2-normalised, float32 torch " + torch.__version__,
        "adopted": {str(k): {"content_hash": hashes[k], "vector": v}
                    for k, v in vectors.items() if k not in not_adopted},
        "not_adopted": {str(k): why for k, why in not_adopted.items()},
    }
    with open(os.path.join(OUT_DIR, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print("wrote", db, os.path.getsize(db), "bytes;", len(expected["adopted"]), "vectors to adopt")


if __name__ == "__main__":
    main()
