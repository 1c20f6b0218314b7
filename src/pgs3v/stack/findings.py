"""One check of ``pgs3v doctor``: what it looked at, whether it passed, and the fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One check: did it pass, what was seen, and what to do when it did not."""

    check: str
    ok: bool
    detail: str
    fix: str = ""
