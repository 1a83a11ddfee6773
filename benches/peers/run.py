"""Skein's search next to its peers on the identical corpus and queries, in one command.

The corpus is what `skein bench search` indexes (`skein bench corpus` prints it): N messages
made from the Cranfield texts, each a thread title and a message. The queries are Cranfield's
225. Every engine answers top-10 queries from one thread for a few seconds:

- raw tantivy through its Python binding (tantivy-py 0.27, the tantivy version Skein uses),
  with Skein's analyzer (lower-case, English stop words, English stemmer) and the OR of the
  query's terms: the anchor, the BM25 engine without Skein around it;
- LanceDB: full-text, vector (brute force) and hybrid (its default RRF reranker);
- SQLite FTS5 (porter stemmer), bm25-ranked OR of the terms;
- Skein in process (`skein bench search --threads 1`): its `tantivy` anchor (TopDocs over the
  same index), BM25 with access filtering, the vector kernel alone, vector, hybrid.

Vectors for LanceDB are random unit vectors of Skein's dimension (256): the cost of a scan
does not depend on the values. Python peers run one thread (the GIL), so Skein runs one too.

Run:  benches/peers/run.sh [--messages 100000] [--seconds 5]
"""

import argparse
import json
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CRANFIELD = ROOT / "tests" / "data" / "cranfield"
DIM = 256


def words(text):
    return re.findall(r"[A-Za-z0-9]+", text)


def measure(name, ask, queries, seconds):
    """Queries/s and p50 of `ask` over `queries`, in turn, for `seconds`."""
    latencies = []
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline:
        query = queries[i % len(queries)]
        i += 1
        began = time.perf_counter()
        ask(query)
        latencies.append(time.perf_counter() - began)
    latencies.sort()
    return {
        "engine": name,
        "queries_per_second": len(latencies) / sum(latencies),
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
    }


def raw_tantivy(texts, queries, seconds, workdir):
    import tantivy

    analyzer = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("text", stored=False, tokenizer_name="skein_en")
    path = workdir / "tantivy"
    path.mkdir()
    index = tantivy.Index(builder.build(), path=str(path))
    index.register_tokenizer("skein_en", analyzer)
    writer = index.writer(heap_size=64_000_000)
    for text in texts:
        writer.add_document(tantivy.Document(text=text))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    parsed = [index.parse_query(" ".join(words(q)) or "x", ["text"]) for q in queries]
    return [measure("tantivy-py BM25 (anchor)", lambda q: searcher.search(q, 10), parsed, seconds)]


def lance(texts, queries, seconds, workdir):
    import lancedb
    import pyarrow as pa

    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((len(texts), DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    db = lancedb.connect(str(workdir / "lance"))
    table = db.create_table(
        "messages",
        pa.table({"text": texts, "vector": pa.FixedSizeListArray.from_arrays(vectors.ravel(), DIM)}),
    )
    table.create_fts_index("text")
    asked = [(" ".join(words(q)) or "x", rng.standard_normal(DIM, dtype=np.float32)) for q in queries]
    return [
        measure("LanceDB full-text", lambda q: table.search(q[0], query_type="fts").limit(10).to_list(), asked, seconds),
        measure("LanceDB vector", lambda q: table.search(q[1]).limit(10).to_list(), asked, seconds),
        measure(
            "LanceDB hybrid",
            lambda q: table.search(query_type="hybrid").vector(q[1]).text(q[0]).limit(10).to_list(),
            asked,
            seconds,
        ),
    ]


def fts5(texts, queries, seconds, workdir):
    db = sqlite3.connect(str(workdir / "fts5.db"))
    db.execute("CREATE VIRTUAL TABLE messages USING fts5(text, tokenize='porter')")
    db.executemany("INSERT INTO messages(text) VALUES (?)", ((t,) for t in texts))
    db.commit()
    matches = [" OR ".join(f'"{w}"' for w in words(q)) or '"x"' for q in queries]
    sql = "SELECT rowid FROM messages WHERE messages MATCH ? ORDER BY bm25(messages) LIMIT 10"
    return [measure("SQLite FTS5", lambda m: db.execute(sql, (m,)).fetchall(), matches, seconds)]


def skein(binary, messages, seconds):
    out = subprocess.run(
        [binary, "bench", "search", "--corpus", str(CRANFIELD), "--messages", str(messages),
         "--threads", "1", "--seconds", str(seconds), "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    legs = json.loads(out)["legs"]
    names = {
        "tantivy": "Skein's index, tantivy TopDocs",
        "bm25": "Skein BM25 (access-filtered)",
        "kernel": "Skein vector kernel alone",
        "vector": "Skein vector",
        "hybrid": "Skein hybrid",
    }
    return [
        {"engine": names[leg], "queries_per_second": m["queries_per_second"], "p50_ms": m["p50_ms"]}
        for leg, m in legs.items()
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "skein"))
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    corpus = subprocess.run(
        [args.binary, "bench", "corpus", "--corpus", str(CRANFIELD), "--messages", str(args.messages)],
        check=True, capture_output=True, text=True,
    ).stdout
    texts = [json.loads(line)["text"] for line in corpus.splitlines()]
    queries = [json.loads(line)["text"] for line in (CRANFIELD / "queries.jsonl").read_text().splitlines()]
    workdir = Path(tempfile.mkdtemp(prefix="skein-peers-"))
    try:
        rows = raw_tantivy(texts, queries, args.seconds, workdir)
        rows += skein(args.binary, args.messages, int(args.seconds))
        rows += lance(texts, queries, args.seconds, workdir)
        rows += fts5(texts, queries, args.seconds, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    anchor = rows[0]["queries_per_second"]
    for row in rows:
        row["ratio_to_tantivy_py"] = row["queries_per_second"] / anchor
    if args.json:
        print(json.dumps({"messages": args.messages, "threads": 1, "rows": rows}))
        return
    print(f"{args.messages} messages, top 10, one thread, {args.seconds:g} s each")
    print(f"{'engine':<34} {'queries/s':>10} {'p50 ms':>8} {'× tantivy-py':>13}")
    for row in rows:
        print(f"{row['engine']:<34} {row['queries_per_second']:>10.0f} {row['p50_ms']:>8.2f} "
              f"{row['ratio_to_tantivy_py']:>13.2f}")


if __name__ == "__main__":
    main()
