"""Damage a store's vectors through chroma's own API, from outside ragkit (another process).

``python -m tests.harness.damage STORE delete FRACTION`` deletes that share of the vectors;
``add N`` adds N vectors under ids ragkit never made; ``perturb N`` overwrites N vectors with others.
"""
from __future__ import annotations

import json
import random
import sqlite3
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    store, action, amount = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    import chromadb
    from chromadb.config import Settings

    with sqlite3.connect(store / "manifest.sqlite") as db:
        name = json.loads(db.execute("SELECT value FROM meta WHERE key='collection'").fetchone()[0])
    client = chromadb.PersistentClient(path=str(store / "vectors"), settings=Settings(anonymized_telemetry=False))
    collection = client.get_collection(name)
    got = collection.get(include=["embeddings"])
    ids, vectors = list(got["ids"]), np.asarray(got["embeddings"], dtype=np.float32)
    rng = random.Random(7)
    if action == "delete":
        victims = rng.sample(ids, max(1, int(len(ids) * amount)))
        collection.delete(ids=victims)
    elif action == "add":
        new = rng.sample(range(len(ids)), int(amount))
        collection.add(ids=[f"foreign-{i}" for i in new], embeddings=vectors[new][:, ::-1].copy())
    elif action == "perturb":
        picked = rng.sample(range(len(ids)), int(amount))
        collection.upsert(ids=[ids[i] for i in picked], embeddings=vectors[picked][:, ::-1].copy())
    else:
        raise SystemExit(f"unknown action {action!r}")
    print(json.dumps({"action": action, "collection": name, "before": len(ids), "after": collection.count()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
