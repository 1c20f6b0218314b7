"""Reading the server's native code ahead at start."""

from __future__ import annotations

import os
import sys

import numpy as np
import numpy.linalg
import pytest

from pgs3v.store.engine.warm_start import mapped_libraries, read_libraries_ahead


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_the_mapped_libraries_are_found_and_read_ahead() -> None:
    libraries = mapped_libraries()
    assert len(libraries) == len(set(libraries))
    assert all(os.path.isabs(path) for path in libraries)
    # numpy's compiled linear algebra is mapped as code once it is imported.
    linalg = os.path.dirname(numpy.linalg.__file__)
    assert np.linalg.norm(np.ones(4)) == 2.0
    assert any(path.startswith(linalg) for path in libraries)
    assert read_libraries_ahead() == sum(os.path.exists(path) for path in libraries)
