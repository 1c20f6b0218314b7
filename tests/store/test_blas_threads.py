"""The store runs numpy with one BLAS thread, set before numpy loads OpenBLAS."""

from __future__ import annotations

import os
import subprocess
import sys

_PROBE = """
import sys
sys.argv = ["pgs3v", *sys.argv[1:]]
import pgs3v.cli, os
print(os.environ.get("OPENBLAS_NUM_THREADS"), "numpy" in sys.modules)
"""


def _probe(*argv: str) -> str:
    environ = {name: value for name, value in os.environ.items()
               if name not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], env=environ, capture_output=True, text=True,
                          check=True, timeout=120)
    return done.stdout.strip()


def test_store_serve_sets_one_blas_thread_by_the_time_numpy_is_loaded() -> None:
    # Importing the command line loads numpy, and OpenBLAS reads its thread count only then.
    assert _probe("store", "serve", "--port", "1") == "1 True"


def test_other_commands_keep_numpys_default_threads() -> None:
    assert _probe("bench", "ann") == "None True"
