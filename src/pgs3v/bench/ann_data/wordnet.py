"""Real 384-d sentence embeddings: the WordNet 3.0 synsets of Debian's ``wordnet-base``.

Each synset (117,659 of them: nouns, verbs, adjectives, adverbs) becomes one text, its words and
its gloss as WordNet writes them (``"dog, domestic dog, Canis familiaris: a member of the genus
Canis ...; \"the dog barked all night\""``), embedded with all-MiniLM-L6-v2 (see
:mod:`.sentence_embedding`). The words make every text distinct: some synsets share a gloss.

Like GloVe (:mod:`.glove`), 1,000 seeded synsets are held out as queries and are not stored.
Embedding all synsets took 22 minutes on two busy cores here, so the embeddings are cached as one
float32 ``.npy`` (180 MB) named by a digest of the texts and the model, and reused by later runs
(with any seed or query count): only the first run needs torch.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pgs3v.bench.ann_data.cache import Cache
from pgs3v.bench.ann_data.dataset import AnnDataset, hold_out_queries, seeded_bands
from pgs3v.bench.ann_data.sentence_embedding import DIMENSION, MODEL_NAME, SentenceModel

WORDNET_DIRECTORY = Path("/usr/share/wordnet")
DEBIAN_PACKAGE = "wordnet-base"
PARTS_OF_SPEECH = ("noun", "verb", "adj", "adv")
NAME = f"wordnet-minilm-{DIMENSION}d"
_EMBED_CHUNK = 2048  # texts encoded between two progress reports
# Adjectives may carry a syntactic marker: "beautiful(a)", "galore(ip)".
_MARKER = re.compile(r"\((?:a|p|ip)\)$")

Progress = Callable[[int, int], None]


class WordnetMissing(RuntimeError):
    """WordNet's data files are not where Debian installs them."""


@dataclass(frozen=True)
class Synset:
    """One synset of a WordNet data file."""

    offset: int
    pos: str
    words: tuple[str, ...]
    gloss: str

    @property
    def text(self) -> str:
        """The text that is embedded: the words, then the gloss."""
        return f"{', '.join(self.words)}: {self.gloss}"


def parse_synset(line: str) -> Synset | None:
    """The synset of one line of a ``data.*`` file, or ``None`` for a licence header line or a blank one.

    The format (wndb(5WN)): ``offset lex_filenum ss_type w_cnt word lex_id [word lex_id]... p_cnt
    [pointer]... [frames]... | gloss``, where ``w_cnt`` is two hexadecimal digits.
    """
    if not line.strip() or line.startswith(" "):
        return None
    head, bar, gloss = line.partition(" | ")
    fields = head.split()
    if not bar or len(fields) < 6:
        raise ValueError(f"not a WordNet data line: {line[:80]!r}")
    word_count = int(fields[3], 16)
    words = tuple(_MARKER.sub("", fields[4 + 2 * i]).replace("_", " ") for i in range(word_count))
    return Synset(offset=int(fields[0]), pos=fields[2], words=words, gloss=gloss.strip())


def parse_synsets(lines: Iterable[str]) -> Iterator[Synset]:
    """The synsets of the lines of one data file, in file order."""
    for line in lines:
        synset = parse_synset(line)
        if synset is not None:
            yield synset


def read_synsets(directory: Path = WORDNET_DIRECTORY) -> list[Synset]:
    """Every synset of the four data files (nouns, verbs, adjectives, adverbs), in that order."""
    synsets: list[Synset] = []
    for pos in PARTS_OF_SPEECH:
        path = directory / f"data.{pos}"
        if not path.exists():
            raise WordnetMissing(f"{path} not found: apt-get install -y {DEBIAN_PACKAGE}")
        with path.open(encoding="utf-8") as lines:
            synsets.extend(parse_synsets(lines))
    return synsets


def embedded_synsets(
    synsets: list[Synset], cache: Cache | None = None, progress: Progress | None = None
) -> np.memmap[Any, Any]:
    """The embedding of every synset's text, from the cache, or computed there first (needs torch)."""
    cache = cache or Cache.default()
    texts = [synset.text for synset in synsets]
    digest = hashlib.sha256("\n".join([MODEL_NAME, *texts]).encode("utf-8")).hexdigest()[:16]

    def embed(out: np.memmap[Any, Any]) -> None:
        model = SentenceModel()
        for start in range(0, len(texts), _EMBED_CHUNK):
            out[start : start + _EMBED_CHUNK] = model.encode(texts[start : start + _EMBED_CHUNK])
            if progress is not None:
                progress(min(start + _EMBED_CHUNK, len(texts)), len(texts))

    return cache.array(NAME, f"embeddings-{digest}-n{len(texts)}.npy", (len(texts), DIMENSION), np.float32, embed)


def wordnet_dataset(
    queries: int = 1000,
    seed: int = 0,
    cache: Cache | None = None,
    directory: Path = WORDNET_DIRECTORY,
    progress: Progress | None = None,
) -> AnnDataset:
    """WordNet synset embeddings, cosine, with ``queries`` seeded synsets held out as the queries."""
    embeddings = embedded_synsets(read_synsets(directory), cache, progress)
    kept, held_out = hold_out_queries(len(embeddings), queries, seed)
    return AnnDataset(
        name=NAME, metric="cosine", vectors=np.ascontiguousarray(embeddings[kept]),
        queries=np.ascontiguousarray(embeddings[held_out]), bands=seeded_bands(len(kept), seed), seed=seed,
    )
