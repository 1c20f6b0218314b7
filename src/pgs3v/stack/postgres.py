"""A private PostgreSQL 15 cluster for the local stack, started with initdb/pg_ctl.

The project never touches the system's PostgreSQL service: it runs its own cluster in the data
directory on its own port. PostgreSQL refuses to run as root, so when we are root the server
processes run as the ``postgres`` OS user (``runuser -u postgres --``) and the cluster's
directories are owned by it. Local connections go through a Unix socket in a directory only
the cluster owner (and root) can enter, with ``trust``; TCP on 127.0.0.1 needs the password.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

POSTGRES_MAJOR = 15
DEBIAN_PACKAGES = ("postgresql-15", "postgresql-plpython3-15")
BIN_DIR = Path(f"/usr/lib/postgresql/{POSTGRES_MAJOR}/bin")
PLPYTHON_CONTROL = Path(f"/usr/share/postgresql/{POSTGRES_MAJOR}/extension/plpython3u.control")
SERVER_USER = "postgres"


class PostgresError(RuntimeError):
    """A cluster operation failed; the message says what to do about it."""


def missing_packages() -> list[str]:
    """Debian packages the local stack needs that are not installed."""
    missing = []
    if not (BIN_DIR / "postgres").exists():
        missing.append(DEBIAN_PACKAGES[0])
    if not PLPYTHON_CONTROL.exists():
        missing.append(DEBIAN_PACKAGES[1])
    return missing


def install_packages(packages: list[str]) -> None:
    """Install Debian packages with apt-get (needs root)."""
    if not packages:
        return
    if os.geteuid() != 0:
        raise PostgresError(f"missing Debian packages {', '.join(packages)}; run as root: "
                            f"apt-get install -y {' '.join(packages)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env, stdout=subprocess.DEVNULL)


@dataclass
class PostgresCluster:
    """One private cluster: ``root/pgdata`` holds the data, ``root/run`` the socket and the log."""

    root: Path
    port: int

    @property
    def data_directory(self) -> Path:
        """The cluster's PGDATA."""
        return self.root / "pgdata"

    @property
    def socket_directory(self) -> Path:
        """Where the server's Unix socket lives."""
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        """The server's log."""
        return self.root / "run" / "postgres.log"

    def initialized(self) -> bool:
        """Whether initdb has run here."""
        return (self.data_directory / "PG_VERSION").exists()

    def init(self, superuser_password: str) -> None:
        """Create the cluster (once) with a password-protected ``postgres`` superuser."""
        if self.initialized():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self._check_server_user_can_reach_root()
        self.socket_directory.mkdir(mode=0o700, exist_ok=True)
        self._hand_to_server_user(self.root)
        self._hand_to_server_user(self.socket_directory)
        password_file = self.socket_directory / "initdb-password"
        password_file.write_text(superuser_password + "\n")
        password_file.chmod(0o600)
        self._hand_to_server_user(password_file)
        try:
            self._run(
                "initdb", "-D", str(self.data_directory), "-U", "postgres", "--pwfile", str(password_file),
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                "--no-instructions",
            )
        finally:
            password_file.unlink(missing_ok=True)
        settings = (
            "\n# pgs3v: a private cluster, reachable on loopback and a private socket only\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.socket_directory}'\n"
            "unix_socket_permissions = 0700\n"
            "shared_buffers = 128MB\n"
            "fsync = on\n"
        )
        with (self.data_directory / "postgresql.conf").open("a") as conf:
            conf.write(settings)

    def running(self) -> bool:
        """Whether the server of this cluster is up."""
        if not self.initialized():
            return False
        result = self._run("pg_ctl", "-D", str(self.data_directory), "status", check=False)
        return result.returncode == 0

    def start(self) -> None:
        """Start the server and wait until it accepts connections (no-op when running)."""
        if self.running():
            return
        result = self._run(
            "pg_ctl", "-D", str(self.data_directory), "-l", str(self.log_file), "-w", "-t", "60",
            "-o", f"-p {self.port}", "start", check=False,
        )
        if result.returncode != 0:
            tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise PostgresError(f"PostgreSQL did not start on port {self.port}: {result.stderr.strip()}\n{tail}")

    def stop(self) -> None:
        """Stop the server quickly and cleanly (no-op when stopped)."""
        if self.running():
            self._run("pg_ctl", "-D", str(self.data_directory), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        """Stop the server and delete the cluster's files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def socket_dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        """A libpq connection string over the private Unix socket."""
        return f"host={self.socket_directory} port={self.port} dbname={dbname} user={user}"

    def tcp_dsn(self, password: str, dbname: str = "postgres", user: str = "postgres") -> str:
        """A libpq URI over loopback TCP (what connection.json hands to applications)."""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def _hand_to_server_user(self, path: Path) -> None:
        # Only needed as root: the server runs as `postgres`, which must own its files.
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam(SERVER_USER)
        os.chown(path, account.pw_uid, account.pw_gid)

    def _check_server_user_can_reach_root(self) -> None:
        # ... and must be able to walk down to them through every parent directory.
        if os.geteuid() != 0:
            return
        uid = pwd.getpwnam(SERVER_USER).pw_uid
        for parent in self.root.resolve().parents:
            info = parent.stat()
            if not (info.st_mode & 0o001 or (info.st_uid == uid and info.st_mode & 0o100)):
                raise PostgresError(
                    f"the {SERVER_USER} OS user cannot enter {parent} (mode {oct(info.st_mode & 0o777)}); "
                    f"put the data directory somewhere it can reach, or run: chmod o+x {parent}"
                )

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        executable = BIN_DIR / program
        # Checked here: through runuser a missing program is only an exit status, which would
        # read as "not running" rather than "not installed".
        if not executable.exists():
            raise PostgresError(f"{executable} not found: apt-get install -y {DEBIAN_PACKAGES[0]}")
        command = [str(executable), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd="/", check=False)
        if check and result.returncode != 0:
            raise PostgresError(f"{program} failed ({result.returncode}): {result.stderr.strip() or result.stdout}")
        return result
