"""What the command line prints when its output is a file or a pipe, and how its hints name it.

Each case runs a real Python process with its stdout captured (a pipe, as in CI or ``| tee``) or
on a pseudo-terminal, since what rich does depends on what the output really is.
"""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
from pathlib import Path

from pgs3v.demo.presentation import print_heading, print_result
from pgs3v.terminal import NON_TERMINAL_WIDTH

VENV_BIN = Path(sys.executable).absolute().parent
TITLE = "Products like OUT-TPX-03338 (Cairn Outfitters Folding Trekking Poles, $91.99): under $50, in stock, by acme"
SKU = "SKU-" + "X" * 110  # one word: a no-wrap column, which rich would cut with an ellipsis

_PRINT_DEMO_OUTPUT = f"""
from pgs3v.demo.presentation import {print_heading.__name__}, {print_result.__name__}
from pgs3v.demo.step import Step, StepResult
from pgs3v.terminal import output_console

console = output_console()
print_heading(console, 1, {TITLE!r}, "what it shows")
print_result(console, StepResult(Step("SELECT"), ("sku", "price"), [({SKU!r}, 12.5)], 0.001, "SELECT 1"))
"""


def run_python(code: str, *, cwd: Path | None = None, **environment: str | None) -> str:
    """Run code in a fresh interpreter with stdout on a pipe; its stdout. ``None`` unsets a variable."""
    env = dict(os.environ)
    for name, value in environment.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_piped_output_keeps_headings_and_table_cells_whole() -> None:
    printed = run_python(_PRINT_DEMO_OUTPUT, COLUMNS=None)
    assert TITLE in printed
    assert SKU in printed
    assert "…" not in printed


def test_piped_output_is_wide_but_columns_still_decides() -> None:
    code = "from pgs3v.terminal import output_console; print(output_console().width)"
    assert int(run_python(code, COLUMNS=None)) >= NON_TERMINAL_WIDTH
    assert int(run_python(code, COLUMNS="100")) == 100


def test_a_terminal_keeps_its_own_width() -> None:
    leader, follower = os.openpty()
    try:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 90, 0, 0))
        env = {name: value for name, value in os.environ.items() if name not in ("COLUMNS", "TERM")}
        code = "import sys; from pgs3v.terminal import output_console; sys.stderr.write(str(output_console().width))"
        result = subprocess.run([sys.executable, "-c", code], env=env, stdout=follower, stderr=subprocess.PIPE,
                                text=True, timeout=60, check=False)
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "90"


_COMMAND = "from pgs3v.terminal import pgs3v_command; print(pgs3v_command())"


def test_the_hint_names_the_venvs_pgs3v_relative_to_where_the_user_stands(tmp_path: Path) -> None:
    path_without_venv = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                                        if Path(p).absolute() != VENV_BIN)
    project = VENV_BIN.parent.parent  # the folder holding .venv, where scripts/demo.sh runs it
    shown = run_python(_COMMAND, cwd=project, PATH=path_without_venv).strip()
    assert shown == f"{VENV_BIN.parent.name}/bin/pgs3v"  # .venv/bin/pgs3v
    assert run_python(_COMMAND, cwd=tmp_path, PATH=path_without_venv).strip() == str(VENV_BIN / "pgs3v")


def test_the_hint_says_pgs3v_when_the_path_finds_this_one(tmp_path: Path) -> None:
    path_with_venv = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    assert run_python(_COMMAND, cwd=tmp_path, PATH=path_with_venv).strip() == "pgs3v"
