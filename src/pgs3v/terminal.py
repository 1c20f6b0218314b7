"""Where the command line meets the user: how wide it prints, and how it names itself in hints.

Every command prints through :func:`output_console`. On a terminal that is the terminal's width;
written to a file or a pipe (CI logs, ``| tee``, ``> demo.log``) rich would assume 80 columns and
cut titles and table cells with an ellipsis, which a log should never do, so it is wide there.
Hints that tell the user what to run next name the command through :func:`pgs3v_command`, so
they can be pasted as printed: ``.venv/bin/pgs3v down`` when ``pgs3v`` is not on the PATH.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

# Wide enough for the demo's headings and tables whole (the widest is about 150 columns), narrow
# enough that a heading's rule, which spans the whole width, stays one screen wide in a log.
NON_TERMINAL_WIDTH = 160


def output_console(**options: Any) -> Console:
    """A rich console for a command's output; wide, not 80 columns, when the output is not a terminal."""
    console = Console(**options)
    # COLUMNS set by the user (or a test) is a choice to keep; rich reads it itself.
    if console.is_terminal or "width" in options or os.environ.get("COLUMNS", "").isdigit():
        return console
    return Console(**options, width=max(console.width, NON_TERMINAL_WIDTH))


def pgs3v_command() -> str:
    """The ``pgs3v`` executable as the user can type it: ``pgs3v`` when the PATH finds this one, else its path."""
    # The console script sits beside the interpreter running us (.venv/bin/python, .venv/bin/pgs3v).
    executable = Path(sys.executable).absolute().parent / "pgs3v"
    if not executable.is_file():
        return "pgs3v"  # run some other way (python -c, an IDE): no better name to give
    found = shutil.which("pgs3v")
    if found is not None and Path(found).resolve() == executable.resolve():
        return "pgs3v"
    try:
        # A path relative to where the user stands, as the README writes it: .venv/bin/pgs3v.
        relative = executable.relative_to(Path.cwd())
    except ValueError:
        return str(executable)
    # A bare name would be looked up on the PATH, where it is not.
    return str(relative) if len(relative.parts) > 1 else f"./{relative}"
