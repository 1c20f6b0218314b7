"""nginx from Debian in front of several stores: the one address clients see.

The configuration is the one docs/object-storage.md gives, written for a throwaway instance on
loopback (its own prefix, pid file and temporary paths). The Host header goes through unchanged,
since clients sign it (SigV4); a connection refused by a store that died is retried on another
(``proxy_next_upstream error``), a request a store received is never sent twice.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from pgs3v.child_server import free_port, tail

NGINX = "/usr/sbin/nginx"
_READY_SECONDS = 20.0


def nginx_config(listen: str, upstreams: list[str], prefix: Path | None = None) -> str:
    """An nginx.conf balancing ``listen`` over the stores at ``upstreams`` (host:port each)."""
    paths = ""
    if prefix is not None:
        paths = (f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n")
    temp = "" if prefix is None else "".join(
        f"    {kind}_temp_path {prefix}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    servers = "".join(f"        server {address} max_fails=1 fail_timeout=5s;\n" for address in upstreams)
    return f"""worker_processes auto;
{paths}events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}    client_max_body_size 64m;   # PutVectors bodies: 500 vectors of 4,096 dimensions and metadata
    tcp_nodelay on;
    upstream pgs3v_stores {{
{servers}        keepalive 32;
    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://pgs3v_stores;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;   # the host the client signed (SigV4)
            proxy_next_upstream error;         # only a store that refused the connection
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    """A throwaway nginx on loopback in front of ``upstreams``."""

    directory: Path
    upstreams: list[str]
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The address clients use."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        """Write the configuration, start nginx in the foreground, wait until it answers."""
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "nginx.conf"
        config.write_text("daemon off;\n" + nginx_config(f"127.0.0.1:{self.port}", self.upstreams, self.directory))
        log = (self.directory / "nginx.out").open("ab")
        self._process = subprocess.Popen([NGINX, "-p", str(self.directory), "-c", str(config)], stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + _READY_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"nginx exited: {tail(self.directory / 'error.log')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start listening")

    def stop(self) -> None:
        """Stop nginx (SIGQUIT lets workers finish, then SIGKILL)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGQUIT)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._process = None
