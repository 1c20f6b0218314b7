"""``pgs3v demo`` end to end: the real stack in a fresh data directory, its answers checked against the data."""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner
from rich.console import Console

from pgs3v import sample_data
from pgs3v.cli import main
from pgs3v.demo import shop_tables, statements
from pgs3v.demo.catalog_index import BUCKET, COUNT_VECTORS, INDEX
from pgs3v.demo.sql_demo import DemoReport, play
from pgs3v.demo.step import StepResult, run_step
from pgs3v.stack.lifecycle import down
from pgs3v.stack.postgres import missing_packages
from pgs3v.terminal import pgs3v_command

README = Path(__file__).resolve().parents[2] / "README.md"


@dataclass
class DemoRun:
    """One run of the demo: what it returned and what it printed."""

    report: DemoReport
    output: str

    def query(self, scenario: str, position: int = 0) -> StepResult:
        """The result of a scenario's row-returning statement (the first by default)."""
        return [r for r in self.report.results[scenario] if r.columns][position]

    def connect(self) -> psycopg.Connection[Any]:
        """A connection as the demo's user (the stack's superuser)."""
        return psycopg.connect(self.report.connection["postgres_dsn"], autocommit=True)


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    if missing_packages():
        reason = f"PostgreSQL packages missing: apt-get install -y {' '.join(missing_packages())}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    # Not pytest's tmp_path: it is mode 0700 under root, and the cluster runs as the postgres user.
    root = Path(tempfile.mkdtemp(prefix="pgs3v-demo-"))
    root.chmod(0o755)
    try:
        yield root / "data"
    finally:
        try:
            down(root / "data", Console(file=io.StringIO()))
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def first_run(data_dir: Path) -> DemoRun:
    printed = io.StringIO()
    report = play(data_dir, Console(file=printed, width=200))
    return DemoRun(report, printed.getvalue())


@pytest.fixture(scope="module")
def second_run(first_run: DemoRun, data_dir: Path) -> str:
    """The demo again on the same data directory, through the command line, its output captured (not a terminal)."""
    # No COLUMNS: what a log or a pipe gets by default, which must not cut titles at 80 columns.
    result = CliRunner().invoke(main, ["demo", "--data-dir", str(data_dir)], env={"COLUMNS": None},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_statement_prints_its_rows_and_timing(first_run: DemoRun) -> None:
    assert [name for name in first_run.report.results] == [s.name for s in statements.scenarios()]
    for scenario in statements.scenarios():
        assert scenario.title in first_run.output
        results = first_run.report.results[scenario.name]
        assert [r.step.sql for r in results] == [step.sql for step in scenario.steps]
        if all(r.unsupported for r in results):
            continue  # the store does not support it yet: a note instead of rows (test_hybrid_search_...)
        queries = [r for r in results if r.columns]
        assert queries and all(r.rows for r in queries), scenario.name
        for result in queries:
            assert f"({len(result.rows)} row" in first_run.output
            for row in result.rows:
                assert str(row[0]) in first_run.output  # every row's key is printed
    assert first_run.report.load.vectors_written == len(sample_data.load_products())
    assert "s3vectors.put_vectors(" in first_run.output
    assert first_run.report.seconds > 0  # reported; how long it takes is the README's measurement, not a test's


def test_like_this_one_obeys_the_predicate_and_ranks_like_exact_search(first_run: DemoRun) -> None:
    result = first_run.query("like_this_one")
    skus = result.column("sku")
    assert len(skus) == 5 and statements.ANCHOR_SKU not in skus
    with first_run.connect() as connection:
        facts = dict(connection.execute(
            "SELECT sku, (price < %s AND in_stock AND tenant = %s) FROM shop.products WHERE sku = ANY(%s)",
            (statements.MAX_PRICE, statements.TENANT, skus)).fetchall())
    assert facts == dict.fromkeys(skus, True)

    # The similarities are the true cosines, nearest first, and the rows are the exact best matches.
    products = sample_data.load_products()
    vectors = sample_data.load_product_embeddings()
    row_of = {p.sku: i for i, p in enumerate(products)}
    anchor = vectors[row_of[statements.ANCHOR_SKU]]
    similarity = vectors @ anchor / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(anchor))
    shown = result.column("similarity")
    for sku, value in zip(skus, shown, strict=True):
        assert value == pytest.approx(float(similarity[row_of[sku]]), abs=1e-3)
    assert shown == sorted(shown, reverse=True)
    eligible = [p.sku for p in products if p.price < float(statements.MAX_PRICE) and p.in_stock
                and p.tenant == statements.TENANT and p.sku != statements.ANCHOR_SKU]
    exact = sorted(eligible, key=lambda sku: -similarity[row_of[sku]])[:5]
    assert len(set(exact) & set(skus)) >= 4


def test_semantic_search_finds_hiking_jackets_within_the_pushed_down_filter(first_run: DemoRun) -> None:
    result = first_run.query("semantic_search")
    skus = result.column("sku")
    assert len(skus) == 5
    with first_run.connect() as connection:
        rows = connection.execute(
            "SELECT sku, category, price, in_stock, name FROM shop.products WHERE sku = ANY(%s)", (skus,)).fetchall()
    assert len(rows) == 5
    for _sku, category, price, in_stock, _name in rows:
        # The filter also allows sports: outdoor comes from the text's meaning.
        assert category == "outdoor" and price < 150 and in_stock
    assert sum("Jacket" in name for *_, name in rows) >= 4
    assert result.column("name") == [dict((r[0], r[4]) for r in rows)[sku] for sku in skus]  # metadata is right


def test_hybrid_search_fuses_words_and_meaning_under_the_price_cap(first_run: DemoRun) -> None:
    [result] = first_run.report.results["hybrid"]
    assert "query_texts => jsonb_build_object(" in first_run.output
    # The store scores text now: the statement answers (the demo's note is for stores that do not).
    assert not result.unsupported and result.failure is None, first_run.output
    skus = result.column("sku")
    assert 0 < len(skus) <= 5
    fused = result.column("fused_score")
    assert all(score is not None for score in fused) and fused == sorted(fused, reverse=True)
    with first_run.connect() as connection:
        rows = {sku: (price, description) for sku, price, description in connection.execute(
            "SELECT sku, price, description FROM shop.products WHERE sku = ANY(%s)", (skus,)).fetchall()}
    for sku, bm25, similarity in zip(skus, result.column("bm25"), result.column("similarity"), strict=True):
        price, description = rows[sku]
        assert price < statements.HYBRID_MAX_PRICE
        # Each row came from the words, the meaning, or both.
        assert bm25 is not None or similarity is not None
        if bm25 is not None:
            assert statements.HYBRID_WORDS in description.lower()
    assert any(b is not None for b in result.column("bm25"))
    assert any(s is not None for s in result.column("similarity"))


def test_the_index_has_the_descriptions_searchable(first_run: DemoRun) -> None:
    with first_run.connect() as connection:
        mode, configurations = connection.execute(
            "SELECT index_mode, text_search_configurations FROM s3vectors.get_index(%s, %s)",
            (BUCKET, INDEX)).fetchone() or (None, None)
    assert mode == "ENHANCED"
    assert configurations == [{"metadataKey": "description", "language": "en", "status": "ACTIVE"}]


def test_review_counts_and_ratings_match_the_reviews(first_run: DemoRun) -> None:
    result = first_run.query("reviews")
    ratings: dict[int, list[int]] = defaultdict(list)
    for review in sample_data.load_reviews():
        ratings[review.product_id].append(review.rating)
    product_id = {p.sku: p.product_id for p in sample_data.load_products()}
    categories = {p.sku: p.category for p in sample_data.load_products()}
    assert len(result.rows) == 8
    for sku, count, average in zip(result.column("sku"), result.column("reviews"), result.column("avg_rating"),
                                   strict=True):
        given = ratings[product_id[sku]]
        assert count == len(given)
        if given:
            assert average == Decimal(sum(given) / len(given)).quantize(Decimal("0.01"))
        else:
            assert average is None
    assert sum(categories[sku] == "audio" for sku in result.column("sku")) >= 6


def test_tenant_orders_are_that_tenants_and_add_up(first_run: DemoRun) -> None:
    result = first_run.query("orders")
    product = {p.sku: p for p in sample_data.load_products()}
    units: dict[int, int] = defaultdict(int)
    for order in sample_data.load_orders():
        if order.tenant == statements.ORDERS_TENANT and order.ordered_at >= statements.ORDERS_SINCE:
            units[order.product_id] += order.quantity
    assert result.rows
    for sku, sold in zip(result.column("sku"), result.column("units"), strict=True):
        assert product[sku].tenant == statements.ORDERS_TENANT
        assert sold == units[product[sku].product_id]
    assert result.column("units") == sorted(result.column("units"), reverse=True)


def test_the_reader_role_queries_but_cannot_write_or_read_credentials(first_run: DemoRun) -> None:
    steps = first_run.report.results["reader"]
    allowed = first_run.query("reader")
    assert len(allowed.rows) == 3 and allowed.failure is None
    refused = [r for r in steps if r.step.refused]
    assert len(refused) == 2
    for result in refused:
        assert result.failure is not None and result.failure.sqlstate == "42501", result.failure
    assert "permission denied for function put_vector" in first_run.output
    assert "permission denied for schema aws_lambda_shim" in first_run.output
    with first_run.connect() as connection:
        assert connection.execute("SELECT current_user").fetchone() == ("postgres",)  # the role was reset
        written = connection.execute(
            "SELECT count(*) FROM s3vectors.get_vectors(%s, %s, ARRAY['written-by-a-reader'])",
            (BUCKET, INDEX)).fetchone()
    assert written == (0,)


def test_a_price_cut_reaches_the_index_after_the_drain(first_run: DemoRun) -> None:
    enabled, updated, status_before, before, drained, status_after, after = [
        r for r in first_run.report.results["sync"] if r.columns]
    assert isinstance(enabled.rows[0][0], int)
    assert updated.column("price") == [statements.SYNC_PRICE]
    assert status_before.column("pending") == [1] and status_before.column("drained_before") == [False]

    def hit(result: StepResult) -> dict[str, Any]:
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        assert len(rows) == 3
        return next(row for row in rows if row["sku"] == statements.SYNC_SKU)

    stale = hit(before)
    assert (stale["indexed_price"], stale["table_price"], stale["change_pending"]) == (
        Decimal("117.99"), statements.SYNC_PRICE, True)
    assert drained.rows == [(1,)]
    assert status_after.column("pending") == [0] and status_after.column("drained_before") == [True]
    fresh = hit(after)
    assert (fresh["indexed_price"], fresh["table_price"], fresh["change_pending"]) == (
        statements.SYNC_PRICE, statements.SYNC_PRICE, False)


def test_a_second_run_replaces_the_data_instead_of_adding_to_it(first_run: DemoRun, second_run: str) -> None:
    for scenario in statements.scenarios():
        assert scenario.title in second_run
    assert "…" not in second_run  # nothing cut short
    assert "permission denied for function put_vector" in second_run
    with first_run.connect() as connection:
        counts = shop_tables.table_counts(connection)
        vectors = run_step(connection, COUNT_VECTORS).rows
    assert counts == {"products": len(sample_data.load_products()), "reviews": len(sample_data.load_reviews()),
                      "orders": len(sample_data.load_orders())}
    assert vectors == [(len(sample_data.load_products()),)]


def test_it_ends_with_how_to_connect_and_stop(first_run: DemoRun, data_dir: Path) -> None:
    assert f"psql {first_run.report.connection['postgres_dsn']}" in first_run.output
    # The command as the user can paste it: .venv/bin/pgs3v from the project folder, if not on the PATH.
    assert f"Stop:     {pgs3v_command()} down --data-dir {data_dir}" in first_run.output
    assert first_run.report.connection["postgres_dsn"].startswith("postgresql://")


def readme_block(language: str, containing: str) -> str:
    """The one fenced block of the README in ``language`` that contains ``containing``."""
    blocks = [block for block in re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)
              if containing in block]
    assert len(blocks) == 1, blocks
    return str(blocks[0])


def as_run_here(text: str, data_dir: Path) -> str:
    """A README example with this test's data directory in place of the default ./.pgs3v."""
    assert ".pgs3v/connection.json" in text
    return text.replace(".pgs3v/connection.json", str(data_dir / "connection.json"))


def test_the_readmes_boto3_example_queries_the_demos_index(first_run: DemoRun, data_dir: Path) -> None:
    example = as_run_here(readme_block("python", "connection.json"), data_dir)
    result = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5, result.stdout
    distances = [float(line.split()[0]) for line in lines]
    keys = [line.split()[1] for line in lines]
    assert distances == sorted(distances)
    with first_run.connect() as connection:
        rows = connection.execute("SELECT sku, name, in_stock, price FROM shop.products WHERE sku = ANY(%s)",
                                  (keys,)).fetchall()
    products = {sku: (name, in_stock, price) for sku, name, in_stock, price in rows}
    for key, line in zip(keys, lines, strict=True):
        name, in_stock, price = products[key]
        assert in_stock and price < 50, (key, in_stock, price)
        assert line.endswith(f"  {name}")


def test_the_readmes_psql_line_connects(first_run: DemoRun, data_dir: Path) -> None:
    lines = [line for line in readme_block("bash", "connection.json").splitlines() if line.startswith("psql ")]
    assert len(lines) == 1
    command = as_run_here(lines[0], data_dir).replace(".venv/bin/python", shlex.quote(sys.executable))
    # The README names the fallback for machines where psql is not on the PATH.
    psql = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    command = shlex.quote(psql) + command.removeprefix("psql") + " -tAc 'SELECT count(*) FROM shop.products'"
    result = subprocess.run(["bash", "-c", command], cwd=README.parent, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(sample_data.load_products()))
