"""The versioned SQL scripts and the order to run them in.

A script set is named like a PostgreSQL extension's: ``NAME--VERSION.sql`` installs a version
from scratch, ``NAME--FROM--TO.sql`` upgrades one version to the next. Two sets ship:
``aws_lambda_shim`` (Aurora's aws_lambda API, for PostgreSQL without it) and ``pgs3v`` (schema
``s3vectors``).

The files live in the repository's ``sql/`` directory, so that ``psql -f sql/...`` works from a
checkout; ``pgs3v/sql_schema/sql`` is a symbolic link to it, which setuptools follows when it
copies the package data (``sql_schema/sql/*.sql``) into a wheel.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

SCHEMA_SCRIPTS = "pgs3v"
SHIM_SCRIPTS = "aws_lambda_shim"

Version = tuple[int, ...]

_VERSION = r"\d+(?:\.\d+)*"


class ScriptError(RuntimeError):
    """The scripts cannot take a database from its version to the wanted one."""


def sql_directory() -> Path:
    """Where the SQL scripts are: inside the installed package, else the checkout's ``sql/``."""
    packaged = Path(str(resources.files("pgs3v.sql_schema").joinpath("sql")))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "sql"


def parse_version(text: str) -> Version:
    """``"0.10.2"`` as ``(0, 10, 2)``, so versions compare numerically."""
    if not re.fullmatch(_VERSION, text):
        raise ScriptError(f"not a version: {text!r}")
    return tuple(int(part) for part in text.split("."))


@dataclass(frozen=True)
class ScriptSet:
    """The install and upgrade scripts of one name in one directory."""

    name: str
    directory: Path

    def installs(self) -> dict[str, Path]:
        """Version -> the script installing it from scratch."""
        pattern = re.compile(rf"{re.escape(self.name)}--({_VERSION})\.sql")
        return {m.group(1): path for path in self._files() if (m := pattern.fullmatch(path.name))}

    def upgrades(self) -> dict[tuple[str, str], Path]:
        """(from, to) -> the script upgrading one version to the other."""
        pattern = re.compile(rf"{re.escape(self.name)}--({_VERSION})--({_VERSION})\.sql")
        return {(m.group(1), m.group(2)): path for path in self._files() if (m := pattern.fullmatch(path.name))}

    def latest(self) -> str:
        """The newest version any script reaches."""
        versions = set(self.installs()) | {target for _, target in self.upgrades()}
        if not versions:
            raise ScriptError(f"no {self.name} scripts in {self.directory}")
        return max(versions, key=parse_version)

    def plan(self, installed: str | None, target: str | None = None) -> list[Path]:
        """The scripts to run, in order, to go from ``installed`` (None: nothing) to ``target``."""
        wanted = target or self.latest()
        if installed == wanted:
            return []
        if installed is not None and parse_version(installed) > parse_version(wanted):
            raise ScriptError(
                f"{self.name} {installed} is installed, newer than {wanted}: upgrade pgs3v instead of downgrading"
            )
        if installed is not None:
            return self._upgrade_path(installed, wanted)
        # Fresh: the newest full install not past the target, then upgrades from there.
        candidates = [v for v in self.installs() if parse_version(v) <= parse_version(wanted)]
        if not candidates:
            raise ScriptError(f"no {self.name} install script for {wanted} or older in {self.directory}")
        base = max(candidates, key=parse_version)
        return [self.installs()[base], *self._upgrade_path(base, wanted)]

    def _upgrade_path(self, start: str, goal: str) -> list[Path]:
        # Fewest steps first, as ALTER EXTENSION ... UPDATE chooses.
        edges = self.upgrades()
        previous: dict[str, tuple[str, Path] | None] = {start: None}
        queue = deque([start])
        while queue:
            version = queue.popleft()
            if version == goal:
                path: list[Path] = []
                step = previous[version]
                while step is not None:
                    source, script = step
                    path.append(script)
                    step = previous[source]
                return path[::-1]
            for (source, target), script in sorted(edges.items(), key=lambda e: parse_version(e[0][1])):
                if source == version and target not in previous:
                    previous[target] = (version, script)
                    queue.append(target)
        raise ScriptError(
            f"no upgrade path from {self.name} {start} to {goal} in {self.directory}; "
            f"upgrade scripts there: {', '.join(sorted(p.name for p in edges.values())) or 'none'}"
        )

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            raise ScriptError(f"the SQL scripts directory {self.directory} does not exist")
        return sorted(self.directory.glob(f"{self.name}--*.sql"))
