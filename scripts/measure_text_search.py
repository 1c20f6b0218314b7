"""Measure tantivy against bm25s + PyStemmer on real text, to choose the full-text library (issue 13).

The text is WordNet 3.0's glosses (Debian's ``wordnet-base``, the data behind the ANN benchmark's
WordNet set): 117,659 of them, 100,000 drawn at random for the small size. The 1M size repeats
them: row j past the last gloss is gloss ``j mod 117,659`` followed by the words of a seeded
random other synset, so no two rows are equal and the copies' vocabularies differ. Queries are
1 to 3 consecutive words (of four letters or more) from random glosses. Both libraries use the
English analyzer each offers (see ``analyzers``) and k1 = 1.2, b = 0.75.

Each library and size runs in a child process of its own, so memory figures do not mix:

    .venv/bin/pip install tantivy bm25s PyStemmer
    PYTHONPATH=src .venv/bin/python scripts/measure_text_search.py all --out docs/full-text-measurements.json
    PYTHONPATH=src .venv/bin/python scripts/measure_text_search.py run --library tantivy --docs 100000
    PYTHONPATH=src .venv/bin/python scripts/measure_text_search.py analyzers
    PYTHONPATH=src .venv/bin/python scripts/measure_text_search.py statistics
    PYTHONPATH=src .venv/bin/python scripts/measure_text_search.py exact --docs 1000000

``exact`` times the scoring the design calls for (docs/full-text-notes.md, part 3): exact BM25
with live statistics after 1% of the rows are deleted, tantivy still finding the candidates.

docs/benchmarks.md ("Full-text libraries") has the figures and the choice.
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import json
import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer
import tantivy

from pgs3v.bench.machine import machine_info
from pgs3v.bench.text_corpus import corpus, sample_queries

K1, B = 1.2, 0.75
QUERIES = 300
UPDATES = 20  # incremental adds, overwrites and deletes timed at each size


def tantivy_analyzer(language: str = "english") -> tantivy.TextAnalyzer:
    """tantivy's chain: split on non-alphanumerics, drop > 40 bytes, lowercase, stop words, Snowball."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.stopword(language))
            .filter(tantivy.Filter.stemmer(language)).build())


def bm25s_tokens(texts: Sequence[str], language: str = "english", stopwords: str = "en") -> list[list[str]]:
    """bm25s's chain: words of 2+ word characters, lowercase, stop words, PyStemmer's Snowball."""
    tokens: list[list[str]] = bm25s.tokenize(list(texts), stopwords=stopwords, stemmer=Stemmer.Stemmer(language),
                                              return_ids=False, show_progress=False)
    return tokens


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def _percentiles(milliseconds: list[float]) -> dict[str, float]:
    ordered = sorted(milliseconds)
    return {"p50_ms": round(ordered[len(ordered) // 2], 3), "p95_ms": round(ordered[int(len(ordered) * 0.95)], 3)}


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


class TantivyRun:
    """One tantivy index on disk: a row number (fast field), a key (raw) and the analyzed text."""

    def __init__(self, directory: Path) -> None:
        builder = tantivy.SchemaBuilder()
        builder.add_integer_field("row", indexed=True, fast=True)
        builder.add_text_field("key", tokenizer_name="raw")
        builder.add_text_field("text", tokenizer_name="english", index_option="freq")
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema, path=str(directory))
        self.index.register_tokenizer("english", tantivy_analyzer())
        self.analyzer = tantivy_analyzer()
        self.writer = self.index.writer(heap_size=256_000_000, num_threads=1)

    def add(self, row: int, text: str) -> None:
        self.writer.add_document(tantivy.Document(row=row, key=f"k{row}", text=text))

    def publish(self) -> None:
        """Commit (fsync) and open a searcher that sees the commit."""
        self.writer.commit()
        self.index.reload()

    def scored(self, tokens: Sequence[str], k: int, boosts: dict[str, float] | None = None) -> list[tuple[int, float]]:
        """The ``k`` best rows for analyzed tokens, one optional clause per token (boosted if asked)."""
        clauses = []
        for token in tokens:
            clause = tantivy.Query.term_query(self.schema, "text", token, index_option="freq")
            if boosts is not None:
                clause = tantivy.Query.boost_query(clause, boosts[token])
            clauses.append((tantivy.Occur.Should, clause))
        searcher = self.index.searcher()
        hits = searcher.search(tantivy.Query.boolean_query(clauses), limit=k, count=False).hits
        rows = searcher.fast_field_values("row", [address for _, address in hits])
        return [(int(row), float(score)) for (score, _), row in zip(hits, rows, strict=True) if row is not None]

    def search(self, text: str, k: int) -> list[int]:
        return [row for row, _ in self.scored(self.analyzer.analyze(text), k)]


def run_tantivy(docs: list[str], queries: list[str]) -> dict[str, Any]:
    """Build, size, query and update one tantivy index over ``docs``."""
    result: dict[str, Any] = {"library": f"tantivy {importlib.metadata.version('tantivy')}", "docs": len(docs)}
    with tempfile.TemporaryDirectory() as scratch:
        before = _rss_mb()
        started, cpu = time.perf_counter(), time.process_time()
        engine = TantivyRun(Path(scratch))
        for row, text in enumerate(docs):
            engine.add(row, text)
        engine.publish()
        engine.writer.wait_merging_threads()
        engine.writer = engine.index.writer(heap_size=64_000_000, num_threads=1)
        result["build_s"] = round(time.perf_counter() - started, 2)
        result["build_cpu_s"] = round(time.process_time() - cpu, 2)
        result["index_mb"] = round(_bytes(Path(scratch)) / 2**20, 1)
        result["rss_after_build_mb"] = round(_rss_mb() - before, 1)
        searcher = engine.index.searcher()
        result["segments"] = searcher.num_segments
        for k in (10, 100):
            for text in queries[:20]:
                engine.search(text, k)  # warm the page cache and the reader
            latencies = [_timed(functools.partial(engine.search, text, k)) for text in queries]
            result[f"top{k}"] = _percentiles(latencies)
        result.update(_tantivy_updates(engine, docs))
        result["peak_rss_mb"] = round(_peak_mb(), 1)
    return result


def _tantivy_updates(engine: TantivyRun, docs: list[str]) -> dict[str, Any]:
    """The time from a write to a searcher that sees it, for adds, overwrites and deletes of one row."""
    rng = random.Random(2)
    times: dict[str, list[float]] = {"add": [], "overwrite": [], "delete": []}
    for i in range(UPDATES):
        row = len(docs) + i

        def add(row: int = row) -> None:
            engine.add(row, "zyzzyva " + docs[row % len(docs)])
            engine.publish()

        times["add"].append(_timed(add))
        assert engine.search("zyzzyva", 100).count(row) == 1
        victim = rng.randrange(len(docs))

        def overwrite(victim: int = victim) -> None:
            engine.writer.delete_documents_by_term("key", f"k{victim}")
            engine.add(victim, "quagga " + docs[victim])
            engine.publish()

        times["overwrite"].append(_timed(overwrite))

        def delete(victim: int = victim) -> None:
            engine.writer.delete_documents_by_term("key", f"k{victim}")
            engine.publish()

        times["delete"].append(_timed(delete))
        assert victim not in engine.search("quagga", 100)
    return {f"{kind}_visible": _percentiles(values) for kind, values in times.items()}


def run_bm25s(docs: list[str], queries: list[str]) -> dict[str, Any]:
    """Tokenize, index, size and query bm25s over ``docs``; a write means rebuilding the index."""
    result: dict[str, Any] = {"library": f"bm25s {importlib.metadata.version('bm25s')} + PyStemmer", "docs": len(docs)}
    before = _rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    tokens = bm25s_tokens(docs)
    result["tokenize_s"] = round(time.perf_counter() - started, 2)
    retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
    retriever.index(tokens, show_progress=False)
    result["build_s"] = round(time.perf_counter() - started, 2)
    result["build_cpu_s"] = round(time.process_time() - cpu, 2)
    result["rss_after_build_mb"] = round(_rss_mb() - before, 1)
    with tempfile.TemporaryDirectory() as scratch:
        retriever.save(scratch)
        result["index_mb"] = round(_bytes(Path(scratch)) / 2**20, 1)
    stemmer = Stemmer.Stemmer("english")

    def search(text: str, k: int) -> list[int]:
        query = bm25s.tokenize([text], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)[0]
        ids = retriever.get_tokens_ids(query)
        if not ids:
            return []
        scores = retriever.get_scores_from_ids(ids)
        best = np.argpartition(-scores, k)[:k]
        return [int(row) for row in best[np.argsort(-scores[best])] if scores[row] > 0]

    for k in (10, 100):
        result[f"top{k}"] = _percentiles([_timed(functools.partial(search, text, k)) for text in queries])
    # A write changes N, avgdl and some df, so every stored score: the index is rebuilt (tokens kept).
    started = time.perf_counter()
    bm25s.BM25(k1=K1, b=B, method="lucene").index([*tokens, ["zyzzyva"]], show_progress=False)
    result["rebuild_s"] = round(time.perf_counter() - started, 2)
    result["peak_rss_mb"] = round(_peak_mb(), 1)
    return result


def analyzers() -> dict[str, Any]:
    """What each library's analyzer makes of one sentence per AWS language."""
    sentences = {
        "en": ("english", "en", "The children's dogs were running quickly through the gardens."),
        "fr": ("french", "fr", "Les enfants couraient rapidement dans les jardins de l'école."),
        "es": ("spanish", "es", "Los niños estaban corriendo rápidamente por los jardines."),
        "pt": ("portuguese", "pt", "As crianças estavam correndo rapidamente pelos jardins."),
        "it": ("italian", "it", "I bambini correvano velocemente nei giardini della città."),
        "de": ("german", "de", "Die Kinder liefen schnell durch die Gärten der Häuser."),
        "nl": ("dutch", "nl", "De kinderen liepen snel door de tuinen van de huizen."),
    }
    result: dict[str, Any] = {}
    for code, (language, stopwords, text) in sentences.items():
        result[code] = {"text": text, "tantivy": tantivy_analyzer(language).analyze(text),
                        "bm25s": bm25s_tokens([text], language, stopwords)[0]}
    cjk = {"zh": "我是中国人，我喜欢北京的天气。", "ja": "東京は日本の首都です。", "ko": "서울은 한국의 수도입니다."}
    simple = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.lowercase()).build()
    bigrams = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(2, 2, False)).build()
    characters = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(
        r"\p{Han}|\p{Hiragana}|\p{Katakana}|\p{Hangul}+|[\p{L}\p{N}]+")).build()
    for code, text in cjk.items():
        result[code] = {"text": text, "tantivy simple": simple.analyze(text),
                        "tantivy ngram(2,2)": bigrams.analyze(text),
                        "tantivy regex (one token per ideograph or kana)": characters.analyze(text),
                        "bm25s": bm25s.tokenize([text], stopwords=None, return_ids=False, show_progress=False)[0]}
    result.update(_lindera(cjk))
    return result


def _lindera(cjk: dict[str, str]) -> dict[str, Any]:
    """Dictionary segmentation by ``lindera-python-cjk`` (IPADIC, CC-CEDICT, ko-dic in the wheel), if installed."""
    try:
        import lindera
    except ImportError:
        return {}
    result: dict[str, Any] = {}
    for code, dictionary in (("zh", "cc-cedict"), ("ja", "ipadic"), ("ko", "ko-dic")):
        started = time.perf_counter()
        tokenizer = lindera.Tokenizer(lindera.load_dictionary(f"embedded://{dictionary}"))
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(1000):
            tokens = tokenizer.tokenize(cjk[code])
        result[f"{code} lindera {dictionary}"] = {
            "tokens": [token.surface for token in tokens], "dictionary_load_s": round(loaded, 2),
            "us_per_text": round((time.perf_counter() - started) * 1000, 1)}
    return result


def statistics() -> dict[str, Any]:
    """Do tantivy's N, avgdl and df follow deletes? Checked on the sample catalog's descriptions."""
    from pgs3v.sample_data.catalog import load_products

    texts = [product.description for product in load_products()]
    with tempfile.TemporaryDirectory() as scratch:
        engine = TantivyRun(Path(scratch))
        for row, text in enumerate(texts):
            engine.add(row, text)
        engine.publish()
        term = tantivy_analyzer().analyze("waterproof")[0]
        before = engine.index.searcher()
        result: dict[str, Any] = {"docs": before.num_docs, "df_before": before.doc_freq("text", term)}
        doomed = [row for row, text in enumerate(texts) if "waterproof" in text.lower()][::2]
        for row in doomed:
            engine.writer.delete_documents_by_term("key", f"k{row}")
        engine.publish()
        after = engine.index.searcher()
        result.update(deleted=len(doomed), num_docs_after_delete=after.num_docs,
                      df_after_delete=after.doc_freq("text", term), segments=after.num_segments)
        result.update(_rescoring(engine, texts, set(doomed)))
        engine.writer.wait_merging_threads()  # lets the merge policy run: it has nothing to merge
        engine.index.reload()
        settled = engine.index.searcher()
        result.update(df_after_waiting_for_merges=settled.doc_freq("text", term), segments_after=settled.num_segments)
    return result


def _rescoring(engine: TantivyRun, texts: Sequence[str], deleted: set[int]) -> dict[str, Any]:
    """How far tantivy's scores are from exact live BM25 after deletes, plain and with idf boosts."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.reference.bm25 import Bm25, lucene_length

    analyzer = tantivy_analyzer()
    started = time.perf_counter()
    tokens = [analyzer.analyze(text) for text in texts]
    result: dict[str, Any] = {"analyze_us_per_text": round((time.perf_counter() - started) * 1e6 / len(texts), 1)}
    live = Bm25({str(row): tokens[row] for row in range(len(texts)) if row not in deleted}, length=lucene_length)
    held = Bm25({str(row): tokens[row] for row in range(len(texts))}, length=lucene_length)
    result["avgdl_live_over_held"] = round(live.average_length / held.average_length, 6)
    for name, boosted in (("plain", False), ("idf_boosted", True)):
        worst = 0.0
        for text in ("waterproof jacket", "stainless steel", "wireless headphones", "hardcover novel"):
            query = analyzer.analyze(text)
            boosts = {token: live.idf(token) / held.idf(token) for token in query} if boosted else None
            for row, score in engine.scored(query, 100, boosts):
                exact = live.score(query, str(row))
                worst = max(worst, abs(score - exact) / exact)
        result[f"max_relative_error_{name}"] = float(f"{worst:.3g}")
    return result


def exact_path(size: int, deleted_share: float = 0.01, k: int = 10) -> dict[str, Any]:
    """The design's exact scoring (docs/full-text-notes.md, part 3), timed after deletes.

    tantivy keeps deleted rows in its statistics; the index keeps live ones (here: counters).
    Each clause is boosted by idf_live / idf_held, tantivy's hits are rescored exactly from their
    text, and more are fetched until the k-th exact score beats the bound on any unseen row.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.reference.bm25 import K1 as k1
    from tests.reference.bm25 import B as b
    from tests.reference.bm25 import Bm25, lucene_length

    docs = corpus(size)
    queries = sample_queries(docs, 200, seed=3)
    analyzer = tantivy_analyzer()
    tokens = [analyzer.analyze(text) for text in docs]
    deleted = set(random.Random(4).sample(range(size), int(size * deleted_share)))
    df: dict[str, int] = {}
    for row, row_tokens in enumerate(tokens):
        if row not in deleted:
            for token in set(row_tokens):
                df[token] = df.get(token, 0) + 1
    live_rows = size - len(deleted)
    live_average = sum(len(row_tokens) for row, row_tokens in enumerate(tokens) if row not in deleted) / live_rows
    held_average = sum(map(len, tokens)) / size

    def idf(frequency: int, documents: int) -> float:
        return math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))

    result: dict[str, Any] = {"docs": size, "deleted": len(deleted), "k": k}
    with tempfile.TemporaryDirectory() as scratch:
        engine = TantivyRun(Path(scratch))
        for row, text in enumerate(docs):
            engine.add(row, text)
        engine.publish()
        for row in deleted:
            engine.writer.delete_documents_by_term("key", f"k{row}")
        engine.publish()
        high = max(1.0, live_average / held_average) * (1 + 1e-5)

        def exact_score(query: list[str], row: int) -> float:
            counts: dict[str, int] = {}
            for token in analyzer.analyze(docs[row]):
                counts[token] = counts.get(token, 0) + 1
            norm = k1 * (1 - b + b * lucene_length(sum(counts.values())) / live_average)
            return sum(idf(df[t], live_rows) * counts[t] * (k1 + 1) / (counts[t] + norm) for t in query if t in counts)

        def top(text: str) -> tuple[list[tuple[float, int]], int]:
            query = [token for token in analyzer.analyze(text) if token in df]
            if not query:
                return [], 0
            searcher = engine.index.searcher()
            boosts = {t: idf(df[t], live_rows) / idf(searcher.doc_freq("text", t), size) for t in query}
            fetch = 2 * k
            while True:
                hits = engine.scored(query, fetch, boosts)
                best = sorted(((exact_score(query, row), row) for row, _ in hits), reverse=True)[:k]
                if len(hits) < fetch or (len(best) == k and best[-1][0] >= high * hits[-1][1]):
                    return best, fetch
                fetch *= 2

        latencies, fetched = [], []
        for text in queries:
            started = time.perf_counter()
            _, fetch = top(text)
            latencies.append((time.perf_counter() - started) * 1000)
            fetched.append(fetch)
        result["exact_top10"] = _percentiles(latencies)
        result["fetched_max"] = max(fetched)
        plain = [_timed(functools.partial(engine.search, text, k)) for text in queries]
        result["plain_top10"] = _percentiles(plain)
        if size <= 200_000:  # check against the reference (it holds every row's counts in memory)
            reference = Bm25({str(row): tokens[row] for row in range(size) if row not in deleted}, length=lucene_length)
            worst = 0.0
            for text in queries:
                best, _ = top(text)
                query = [token for token in analyzer.analyze(text) if token in df]
                expected = [score for _, score in reference.top(query, k)] if query else []
                assert len(best) == len(expected), text
                for (score, _), want in zip(best, expected, strict=True):
                    worst = max(worst, abs(score - want) / want)
            result["max_relative_error_vs_reference"] = float(f"{worst:.3g}")
    return result


def _child(library: str, size: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "run", "--library", library, "--docs", str(size)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    parsed: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return parsed


def main() -> None:
    """Parse the command line and run what it asks; ``all`` runs every measurement."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("all", "run", "analyzers", "statistics", "exact"))
    parser.add_argument("--library", choices=("tantivy", "bm25s"))
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--out", type=Path)
    arguments = parser.parse_args()
    if arguments.what == "run":
        docs = corpus(arguments.docs)
        queries = sample_queries(docs, QUERIES)
        run = run_tantivy if arguments.library == "tantivy" else run_bm25s
        print(json.dumps(run(docs, queries)))
        return
    if arguments.what == "analyzers":
        print(json.dumps(analyzers(), ensure_ascii=False, indent=1))
        return
    if arguments.what == "statistics":
        print(json.dumps(statistics(), indent=1))
        return
    if arguments.what == "exact":
        print(json.dumps(exact_path(arguments.docs)))
        return
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    report: dict[str, Any] = {"machine": machine_info(), "started": started, "statistics": statistics(),
                              "analyzers": analyzers(), "runs": []}
    for size in (int(size) for size in arguments.sizes.split(",")):
        for library in ("tantivy", "bm25s"):
            report["runs"].append(_child(library, size))
            print(json.dumps(report["runs"][-1]), flush=True)
    report["exact_path"] = [exact_path(int(size)) for size in arguments.sizes.split(",")]
    report["load_average_after"] = machine_info()["load_average"]
    if arguments.out is not None:
        arguments.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
