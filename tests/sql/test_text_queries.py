"""query_vectors with query_texts (0.5.0): full-text and hybrid queries, and the score columns."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from tests.sql.conftest import Connection, scalar, sql_error, unique

RRF_K = 60  # AWS's fusion constant (docs/full-text-notes.md)

# Three products: a waterproof pair (a has the word once, c twice) and b, nearest to the query vector.
PRODUCTS = [
    {"key": "a", "data": [1, 0, 0], "metadata": {"description": "waterproof hiking boots", "price": 120}},
    {"key": "b", "data": [0, 1, 0], "metadata": {"description": "leather office shoes", "price": 90}},
    {"key": "c", "data": [0, 0, 1], "metadata": {"description": "waterproof rain jacket, fully waterproof",
                                                 "price": 60}},
]
NEAR_B = "'{0,1,0.1}'::real[]"  # vector ranking b, c, a


@pytest.fixture
def text_index(admin: Connection, writer: Connection, bucket: str) -> tuple[str, str]:
    """A 3-dimensional cosine index (ENHANCED, as new buckets make them) whose "description" is
    full-text searchable, holding PRODUCTS: (bucket, index)."""
    name = unique("text")
    admin.execute("SELECT s3vectors.create_index(%s, %s, 3, 'cosine', non_filterable_metadata_keys => '{description}')",
                  (bucket, name))
    # On an index without vectors the configuration is ACTIVE at once (no backfill).
    admin.execute("SELECT s3vectors.update_metadata_configuration(%s, %s, add => %s::jsonb)",
                  (bucket, name, json.dumps({"textSearchConfigurations": [
                      {"metadataKey": "description", "language": "en"}]})))
    writer.execute("SELECT s3vectors.put_vectors(%s, %s, vectors => %s::jsonb)", (bucket, name, json.dumps(PRODUCTS)))
    return bucket, name


def text_rows(conn: Connection, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    """The rows of a text or hybrid query."""
    return conn.execute(query, params).fetchall()


def test_vector_queries_are_as_in_0_4_0(reader: Connection, text_index: tuple[str, str]) -> None:
    # 0.4.0's positional calls, all eight arguments and fewer, keep their meaning; the new columns are NULL.
    rows = reader.execute(f"SELECT * FROM s3vectors.query_vectors(%s, %s, {NEAR_B}, 3, NULL, true, true, NULL)",
                          text_index).fetchall()
    assert [r[0] for r in rows] == ["b", "c", "a"]
    assert rows[0][2] == PRODUCTS[1]["metadata"]
    assert [r[3:] for r in rows] == [(None, None, None)] * 3
    short = reader.execute(f"SELECT key, distance FROM s3vectors.query_vectors(%s, %s, {NEAR_B}, 2)",
                           text_index).fetchall()
    assert [r[0] for r in short] == ["b", "c"] and short[0][1] == pytest.approx(1 - 1 / (1.01**0.5), abs=1e-6)
    # returnScores adds nothing to a vector-only query (AWS: "doesn't add scores to vector-only requests").
    scored = reader.execute(f"SELECT key, fused_score, bm25_scores, vector_distance FROM s3vectors.query_vectors("
                            f"%s, %s, {NEAR_B}, 3, return_scores => true)", text_index).fetchall()
    assert scored == [("b", None, None, None), ("c", None, None, None), ("a", None, None, None)]
    # The result columns, in order.
    columns = reader.execute(f"SELECT * FROM s3vectors.query_vectors(%s, %s, {NEAR_B}, 1)", text_index)
    assert [c.name for c in columns.description or []] == [
        "key", "distance", "metadata", "fused_score", "bm25_scores", "vector_distance"]


def test_query_texts_reach_the_store(reader: Connection, text_index: tuple[str, str]) -> None:
    # Each request passes pgs3v's checks and is answered by the store, whose checks show what it
    # received (None: the store answers with rows).
    cases: dict[tuple[str, str, str], str | None] = {
        # the API's list, with and without a vector
        ("'[{\"metadataKey\": \"description\", \"text\": \"waterproof\"}]'", "NULL", "NULL"): None,
        ("'[{\"metadataKey\": \"description\", \"text\": \"waterproof\"}]'", NEAR_B, "NULL"): None,
        # the object form becomes the same list
        ("'{\"description\": \"waterproof\"}'", "NULL", "NULL"): None,
        ("'{\"colour\": \"red\"}'", "NULL", "NULL"): "Metadata key 'colour' is not configured for text search",
        ("'[{\"metadataKey\": \"description\", \"text\": \"a\"}, {\"metadataKey\": \"description\", "
         "\"text\": \"b\"}]'", "NULL", "NULL"): "Metadata key 'description' appears more than once in queryTexts",
        # queryMode is sent
        ("'{\"description\": \"waterproof\"}'", NEAR_B, "'CLASSIC'"): "You can't specify CLASSIC for an ENHANCED index",
    }
    for (texts, vector, mode), message in cases.items():
        query = (f"SELECT * FROM s3vectors.query_vectors(%s, %s, {vector}, 3, query_texts => {texts}::jsonb, "
                 f"return_scores => true, query_mode => {mode})")
        if message is None:
            assert reader.execute(query, text_index).fetchall(), (texts, vector, mode)
            continue
        error = sql_error(reader, query, text_index)
        assert error.sqlstate == "22023", (texts, str(error))
        assert str(error).startswith("ValidationException: ") and message in str(error), (texts, str(error))


def test_what_pgs3v_refuses_before_sending(reader: Connection, text_index: tuple[str, str]) -> None:
    # Neither a vector nor texts: 0.4.0's error.
    error = sql_error(reader, "SELECT * FROM s3vectors.query_vectors(%s, %s, NULL, 3)", text_index)
    assert error.sqlstate == "22023" and "query_vector must not be NULL" in str(error)
    for texts in ("'\"waterproof\"'", "'42'", "'null'"):
        error = sql_error(reader, f"SELECT * FROM s3vectors.query_vectors(%s, %s, query_texts => {texts}::jsonb)",
                          text_index)
        assert error.sqlstate == "22023" and "query_texts must be a list" in str(error), texts
    # A bad vector is refused even with texts.
    error = sql_error(reader, "SELECT * FROM s3vectors.query_vectors(%s, %s, '{1,NaN,0}'::real[], "
                              "query_texts => '{\"description\": \"waterproof\"}')", text_index)
    assert error.sqlstate == "22023" and "NaN" in str(error)


def test_the_reader_may_query_texts_and_the_public_may_not(db: Connection, text_index: tuple[str, str]) -> None:
    signature = "s3vectors.query_vectors(text,text,real[],integer,jsonb,boolean,boolean,text,jsonb,boolean,text)"
    assert scalar(db, "SELECT has_function_privilege('pgs3v_reader', %s, 'EXECUTE')", (signature,)) is True
    assert scalar(db, "SELECT has_function_privilege('public', %s, 'EXECUTE')", (signature,)) is False


# Results.

def test_full_text_only_ranks_by_bm25(reader: Connection, text_index: tuple[str, str]) -> None:
    rows = text_rows(reader, "SELECT key, distance, fused_score, bm25_scores, vector_distance "
                             "FROM s3vectors.query_vectors(%s, %s, top_k => 10, "
                             "query_texts => '{\"description\": \"waterproof\"}', return_scores => true)", text_index)
    # c has the word twice, a once, b not at all.
    assert [r[0] for r in rows] == ["c", "a"]
    scores = [r[3]["description"] for r in rows]
    assert scores[0] > scores[1] > 0 and all(set(r[3]) == {"description"} for r in rows)
    # No vector: no distance and no fusion.
    assert all(r[1] is None and r[2] is None and r[4] is None for r in rows)
    # Without return_scores, the same ranking and no scores.
    plain = text_rows(reader, "SELECT key, bm25_scores FROM s3vectors.query_vectors(%s, %s, top_k => 10, "
                              "query_texts => '[{\"metadataKey\": \"description\", \"text\": \"waterproof\"}]')",
                      text_index)
    assert plain == [("c", None), ("a", None)]


def test_hybrid_fuses_the_rankings_with_rrf(reader: Connection, text_index: tuple[str, str]) -> None:
    rows = text_rows(reader, f"SELECT key, fused_score, bm25_scores, vector_distance "
                             f"FROM s3vectors.query_vectors(%s, %s, {NEAR_B}, 10, "
                             f"query_texts => '{{\"description\": \"waterproof\"}}', return_scores => true)",
                     text_index)
    # Vector ranking b, c, a; text ranking c, a. RRF: c = 1/(60+2) + 1/(60+1), a = 1/(60+3) + 1/(60+2), b = 1/(60+1).
    expected = {"c": 1 / (RRF_K + 2) + 1 / (RRF_K + 1), "a": 1 / (RRF_K + 3) + 1 / (RRF_K + 2), "b": 1 / (RRF_K + 1)}
    assert [r[0] for r in rows] == ["c", "a", "b"]
    assert {r[0]: r[1] for r in rows} == pytest.approx(expected, rel=1e-4)
    by_key = {r[0]: r for r in rows}
    assert by_key["b"][2] is None and by_key["c"][2]["description"] > by_key["a"][2]["description"] > 0
    # Every result is in the vector list (top_k 10 > 3 vectors): each has its distance.
    assert by_key["b"][3] == pytest.approx(1 - 1 / (1.01**0.5), abs=1e-6)
    assert by_key["a"][3] == pytest.approx(1.0, abs=1e-6)


def test_hybrid_with_a_predicate_in_sql(reader: Connection, text_index: tuple[str, str]) -> None:
    # The price lives in the caller's table: a post-filter in SQL, ranked by the fused score.
    rows = text_rows(reader, f"""
        SELECT q.key FROM s3vectors.query_vectors(%s, %s, {NEAR_B}, 10,
                   query_texts => '{{"description": "waterproof"}}', return_scores => true) AS q
        JOIN (VALUES ('a', 120), ('b', 90), ('c', 60)) AS p(sku, price) ON p.sku = q.key
        WHERE p.price < 100
        ORDER BY q.fused_score DESC""", text_index)
    assert rows == [("c",), ("b",)]
    # The same predicate pushed down as a metadata filter, which ENHANCED applies before ranking.
    pushed = text_rows(reader, f"""
        SELECT q.key FROM s3vectors.query_vectors(%s, %s, {NEAR_B}, 10,
                   filter => '{{"price": {{"$lt": 100}}}}',
                   query_texts => '{{"description": "waterproof"}}') AS q""", text_index)
    assert [r[0] for r in pushed] == ["c", "b"]


def test_the_position_needs_no_scores(reader: Connection, text_index: tuple[str, str]) -> None:
    # docs/hybrid-queries.md orders joined rows by their position, whatever ranked them.
    ranked = "WITH ORDINALITY AS q(key, distance, metadata, fused_score, bm25_scores, vector_distance, rank)"
    rows = reader.execute(f"SELECT q.key, q.rank FROM s3vectors.query_vectors(%s, %s, {NEAR_B}, 3) {ranked} "
                          "JOIN (VALUES ('a'), ('b'), ('c')) AS p(sku) ON p.sku = q.key ORDER BY q.rank DESC",
                          text_index).fetchall()
    assert rows == [("a", 3), ("c", 2), ("b", 1)]


RANKED = "WITH ORDINALITY AS q(key, distance, metadata, fused_score, bm25_scores, vector_distance, rank)"


def test_weights_of_ones_own_fused_in_sql(reader: Connection, text_index: tuple[str, str]) -> None:
    # Two calls fused in SQL with weights 0.7 (vector) and 0.3 (text), as docs/hybrid-queries.md shows.
    ranked = RANKED
    fused = text_rows(reader, f"""
        WITH v AS (SELECT key, rank FROM s3vectors.query_vectors(%(b)s, %(i)s, {NEAR_B}, top_k => 10) {ranked}),
             t AS (SELECT key, rank FROM s3vectors.query_vectors(%(b)s, %(i)s, top_k => 10,
                       query_texts => '{{"description": "waterproof"}}') {ranked})
        SELECT coalesce(v.key, t.key) AS key,
               coalesce(0.7 / (60 + v.rank), 0) + coalesce(0.3 / (60 + t.rank), 0) AS score
        FROM v FULL JOIN t ON t.key = v.key
        ORDER BY score DESC""", {"b": text_index[0], "i": text_index[1]})
    # c: 0.7/62 + 0.3/61, a: 0.7/63 + 0.3/62, b: 0.7/61.
    assert [r[0] for r in fused] == ["c", "a", "b"]


def test_a_top_k_above_the_page_size_is_read_page_after_page(admin: Connection, writer: Connection, reader: Connection,
                                                             bucket: str) -> None:
    # query_vectors follows the store's nextToken for text and hybrid queries too: 250 rows of a
    # ranking the store answers in pages of 100, each once, best first.
    name = unique("text-pages")
    admin.execute("SELECT s3vectors.create_index(%s, %s, 3, 'cosine', non_filterable_metadata_keys => '{description}')",
                  (bucket, name))
    admin.execute("SELECT s3vectors.update_metadata_configuration(%s, %s, add => %s::jsonb)",
                  (bucket, name, json.dumps({"textSearchConfigurations": [{"metadataKey": "description"}]})))
    products = [{"key": f"p{i:03d}", "data": [1, i / 300, (i % 7) / 7],
                 "metadata": {"description": " ".join(["waterproof"] * (1 + i % 4) + ["boots"] * (i % 5))}}
                for i in range(300)]
    writer.execute("SELECT s3vectors.put_vectors(%s, %s, vectors => %s::jsonb)", (bucket, name, json.dumps(products)))
    for vector, column in (("NULL", "(bm25_scores ->> 'description')::float8"), (NEAR_B, "fused_score")):
        rows = text_rows(reader, f"SELECT key, {column} FROM s3vectors.query_vectors(%s, %s, {vector}, 250, "
                                 "query_texts => '{\"description\": \"waterproof\"}', return_scores => true)",
                         (bucket, name))
        assert len(rows) == 250 and len({r[0] for r in rows}) == 250, vector
        # Best first across the pages (the fused score comes back as a real: equal there, any order).
        assert all(before[1] >= after[1] for before, after in itertools.pairwise(rows)), vector
