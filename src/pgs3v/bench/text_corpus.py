"""Real short text for the full-text benchmarks: WordNet 3.0's glosses, and queries drawn from them.

The glosses come from Debian's ``wordnet-base`` (the data behind the ANN benchmark's WordNet
set): 117,659 of them. Up to that many rows are distinct glosses drawn at random; beyond it
(the 1M size) row j past the last gloss is gloss ``j mod 117,659`` followed by the words of a
seeded random other synset, so no two rows are equal and the copies' vocabularies differ (no
larger real prose is available offline). Queries are 1 to 3 consecutive words of four letters
or more from random rows, the common function words left out.

Used by ``scripts/measure_text_search.py`` (the library choice) and ``pgs3v bench text``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

import numpy as np

from pgs3v.bench.ann_data.wordnet import read_synsets

_WORD = re.compile(r"[a-z]{4,}")
_COMMON = frozenset(("that", "this", "with", "from", "they", "their", "there", "these", "which", "when", "have",
                     "been", "being", "used", "into", "such"))


def corpus(size: int, seed: int = 0) -> list[str]:
    """``size`` rows of WordNet glosses, repeated with a perturbation beyond the 117,659 there are."""
    synsets = read_synsets()
    glosses = [synset.gloss for synset in synsets]
    rng = np.random.default_rng(seed)
    if size <= len(glosses):
        return [glosses[i] for i in rng.permutation(len(glosses))[:size]]
    partners = rng.integers(0, len(synsets), size)
    extra = (f"{glosses[j % len(glosses)]}; {', '.join(synsets[partners[j]].words)}" for j in range(len(glosses), size))
    return glosses + list(extra)


def sample_queries(docs: Sequence[str], count: int, seed: int = 1) -> list[str]:
    """``count`` queries of 1 to 3 consecutive content words taken from random rows."""
    rng = random.Random(seed)
    queries: list[str] = []
    while len(queries) < count:
        words = [word for word in _WORD.findall(rng.choice(docs).lower()) if word not in _COMMON]
        if words:
            length = rng.choice((1, 2, 3))
            start = rng.randrange(max(1, len(words) - length + 1))
            queries.append(" ".join(words[start : start + length]))
    return queries
