"""Where every ``pgs3v`` command keeps its data: --data-dir, else $PGS3V_DATA_DIR, else ./.pgs3v.

One default for all commands, so `pgs3v up`, `pgs3v store serve`, `pgs3v functions serve`,
`pgs3v sync` and `pgs3v demo` find the same stack, credentials.json and connection.json.
"""

from __future__ import annotations

import os
from pathlib import Path

ENVIRONMENT_VARIABLE = "PGS3V_DATA_DIR"
FALLBACK = ".pgs3v"

# The end of every --data-dir help text.
DEFAULT_HELP = f"[default: ${ENVIRONMENT_VARIABLE} or ./{FALLBACK}]"


def default_data_dir() -> Path:
    """``$PGS3V_DATA_DIR``, else ./.pgs3v (relative: resolved against the working directory)."""
    return Path(os.environ.get(ENVIRONMENT_VARIABLE, FALLBACK))


def resolve_data_dir(data_dir: Path | None) -> Path:
    """--data-dir, else ``$PGS3V_DATA_DIR``, else ./.pgs3v."""
    return data_dir or default_data_dir()


def data_dir_help(what: str) -> str:
    """The help text of a --data-dir option: ``what`` the directory is, then the default."""
    return f"{what} {DEFAULT_HELP}."
