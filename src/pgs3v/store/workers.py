"""Several store processes on one address: the parent accepts connections, each worker serves some.

One Python process serves one request's Python code at a time (the GIL), so on a machine with
several cores one store process leaves most of them idle. ``pgs3v store serve --workers N`` runs
N full store processes over shared storage (``file://`` or ``s3://``: the layout that keeps two
servers' writes consistent, see docs/object-storage.md) behind one listening socket.

The parent only accepts: it hands each new connection to the next live worker in turn, passing
the socket itself over a Unix socket (SCM_RIGHTS), so no request byte goes through it. The
kernel's own spreading (SO_REUSEPORT) hashes connections to listeners, and with the few
long-lived connections a store gets (kept-alive clients, a function host's pool) two of them
land on one worker while another idles half the time; taking turns never does that.

With ``--tls-cert``/``--tls-key`` each worker wraps the connections it receives in TLS: the
parent only accepts (a TLS session's state could not follow the socket into another process
anyway), and the handshakes' CPU work is spread over the workers like the requests'.

A worker that dies is started again (its clients reconnect, as after any server restart); one
that cannot start stops the whole server with its reason. SIGTERM or SIGINT to the parent stops
accepting and lets every worker finish its requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from multiprocessing.connection import wait as wait_for_exits
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

from pgs3v.auth.credentials import load_or_create_credentials
from pgs3v.store.api.limits import Limits
from pgs3v.store.server import ServeOptions, serve
from pgs3v.store.storage.location import StorageConfigError
from pgs3v.tls import server_context

log = logging.getLogger("pgs3v.store")

_READY, _FAILED, _CONNECTION = b"R", b"F", b"C"
# A worker that dies this soon after starting, twice running, is not restarted again: it would
# only die again (a bad disk, a full cache directory), and the server should say so and stop.
_QUICK_DEATH_SECONDS = 10.0
_STOP_SECONDS = 30.0


class WorkerStartError(RuntimeError):
    """A worker could not start; the message is its reason."""


def check_shareable(url: str | None) -> None:
    """Refuse ``--workers`` on storage that only one process may open (the data directory itself)."""
    if url is None:
        raise StorageConfigError("--workers needs storage several processes can share: --storage file:///DIRECTORY "
                                 "(objects on this machine's disk) or --storage s3://BUCKET[/PREFIX]")


def serve_workers(options: ServeOptions, limits: Limits, workers: int,
                  environ: Mapping[str, str] | None = None) -> None:
    """Serve ``options`` with ``workers`` processes until SIGINT or SIGTERM."""
    check_shareable(options.storage.url)
    if options.tls is not None:
        server_context(options.tls)  # a bad certificate is one line here, not N workers' failures
    # Made once here, so the workers read one file instead of racing to create it.
    credentials = load_or_create_credentials(options.data_dir, environ)
    listener = socket.create_server((options.host, options.port), backlog=2048)
    pool = _WorkerPool(options, limits, workers, environ)
    _install_stop_signals()
    try:
        pool.start_all()
        print(f"pgs3v store serving {options.storage.url} on {options.scheme}://{options.host}:{options.port} "
              f"with {workers} workers (region {options.region}, access key {credentials.access_key_id})", flush=True)
        _accept(listener, pool)
    except _Stopping:
        pass
    finally:
        listener.close()
        pool.stop_all()
    if pool.failure is not None:
        raise WorkerStartError(pool.failure)


def _install_stop_signals() -> None:
    def handle(signum: int, frame: object) -> None:
        # accept() is interrupted by the signal; raising ends it (a flag alone would wait for the
        # next connection).
        raise _Stopping

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


class _Stopping(Exception):
    pass


def _accept(listener: socket.socket, pool: _WorkerPool) -> None:
    """Hand each connection to a worker until a stop signal raises _Stopping."""
    while True:
        try:
            connection, _ = listener.accept()
        except OSError as problem:  # EMFILE and the like: the backlog keeps the client waiting
            log.warning("accept failed: %s", problem)
            time.sleep(0.05)
            continue
        with connection:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pool.hand_over(connection)


@dataclass
class _Worker:
    number: int
    process: BaseProcess
    channel: socket.socket
    started: float
    quick_deaths: int = 0


class _WorkerPool:
    """The worker processes, started, watched, restarted and stopped."""

    def __init__(self, options: ServeOptions, limits: Limits, count: int, environ: Mapping[str, str] | None) -> None:
        self._options, self._limits, self._count = options, limits, count
        self._environ = dict(os.environ if environ is None else environ)
        self._context = multiprocessing.get_context("spawn")
        self._workers: dict[int, _Worker] = {}
        self._lock = threading.Lock()
        self._turn = 0
        self._stopping = False
        self.failure: str | None = None
        self._watcher = threading.Thread(target=self._watch, name="pgs3v-workers", daemon=True)

    def start_all(self) -> None:
        """Start every worker and wait until each serves (WorkerStartError with the first failure)."""
        for number in range(self._count):
            self._workers[number] = self._start(number)
        self._watcher.start()

    def _start(self, number: int, quick_deaths: int = 0) -> _Worker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        process = self._context.Process(
            target=run_worker, name=f"pgs3v-store-worker-{number}",
            args=(self._worker_options(number), self._limits, theirs, self._environ))
        process.start()
        theirs.close()
        answer = ours.recv(4096)  # the worker's first word: ready, or why not
        if answer[:1] != _READY:
            ours.close()
            process.join(_STOP_SECONDS)
            reason = answer[1:].decode(errors="replace") or f"it exited with code {process.exitcode}"
            raise WorkerStartError(f"store worker {number} could not start: {reason}")
        return _Worker(number, process, ours, time.monotonic(), quick_deaths)

    def _worker_options(self, number: int) -> ServeOptions:
        # A cache each: two processes evicting and fetching in one directory would remove files
        # the other is opening. On file:// storage the cached segments are hard links to the
        # objects, so the copies cost neither disk nor page cache.
        return replace(self._options, storage=replace(self._options.storage, cache_name=f"cache-worker-{number}"))

    def hand_over(self, connection: socket.socket) -> None:
        """Give ``connection`` to the next worker that takes it; close it when none does."""
        with self._lock:
            workers = [self._workers[n] for n in sorted(self._workers)]
            self._turn += 1
            turn = self._turn
        for offset in range(len(workers)):
            worker = workers[(turn + offset) % len(workers)]
            try:
                socket.send_fds(worker.channel, [_CONNECTION], [connection.fileno()])
                return
            except OSError:
                continue  # it is dying; the watcher replaces it
        log.error("no store worker is running; a connection was closed")

    def _watch(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                by_sentinel = {worker.process.sentinel: worker for worker in self._workers.values()}
            for sentinel in wait_for_exits(list(by_sentinel), timeout=1.0):
                self._replace(by_sentinel[sentinel])  # type: ignore[index]

    def _replace(self, dead: _Worker) -> None:
        with self._lock:
            if self._stopping:
                return
        dead.channel.close()
        quick = time.monotonic() - dead.started < _QUICK_DEATH_SECONDS
        deaths = dead.quick_deaths + 1 if quick else 0
        if deaths >= 2:
            self._give_up(f"store worker {dead.number} died twice within {_QUICK_DEATH_SECONDS:.0f} s of starting "
                          f"(exit code {dead.process.exitcode})")
            return
        log.error("store worker %d exited with code %s; starting it again", dead.number, dead.process.exitcode)
        try:
            fresh = self._start(dead.number, deaths)
        except WorkerStartError as problem:
            self._give_up(str(problem))
            return
        with self._lock:
            self._workers[dead.number] = fresh

    def _give_up(self, reason: str) -> None:
        log.error("%s; stopping", reason)
        self.failure = reason
        os.kill(os.getpid(), signal.SIGTERM)  # ends the accept loop in the main thread

    def stop_all(self) -> None:
        """Close every worker's channel (each then finishes its requests and exits) and wait for them."""
        with self._lock:
            self._stopping = True
            workers = list(self._workers.values())
        for worker in workers:
            worker.channel.close()
        deadline = time.monotonic() + _STOP_SECONDS
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                log.error("store worker %d did not stop in %.0f s; killing it", worker.number, _STOP_SECONDS)
                worker.process.kill()
                worker.process.join()


def run_worker(options: ServeOptions, limits: Limits, channel: socket.socket, environ: dict[str, str]) -> None:
    """A worker process: the store on ``options``, serving the connections the parent passes on ``channel``."""
    # Its own process group: a terminal's Ctrl-C reaches the parent, which stops the workers in
    # order, rather than every process at once.
    os.setpgrp()
    try:
        serve(options, limits, environ, handoff=partial(_HandedOffServer, channel=channel))
    except Exception as problem:
        with contextlib.suppress(OSError):
            channel.send(_FAILED + str(problem).encode()[:4000])
        raise SystemExit(1) from None


class _HandedOffServer(uvicorn.Server):
    """uvicorn serving the connections that arrive on ``channel`` instead of listening itself."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self._channel = channel
        self._tasks: set[asyncio.Task[Any]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start the app with no listener of its own, then take connections from the parent."""
        await super().startup(sockets=[])
        loop = asyncio.get_running_loop()
        config = self.config
        # What uvicorn's own listener makes for each connection (uvicorn.Server.startup).
        protocol: Callable[[], asyncio.Protocol] = partial(
            config.http_protocol_class, config=config, server_state=self.server_state,  # type: ignore[call-arg]
            app_state=self.lifespan.state)
        self._channel.setblocking(False)
        loop.add_reader(self._channel.fileno(), self._receive, loop, protocol)
        self._channel.send(_READY)

    def _receive(self, loop: asyncio.AbstractEventLoop, protocol: Callable[[], asyncio.Protocol]) -> None:
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(self._channel, 16, 16)
            except BlockingIOError:
                return
            except OSError:
                message, fds = b"", []
            if not message and not fds:  # the parent closed the channel (or died): stop
                loop.remove_reader(self._channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                connection = socket.socket(fileno=fd)
                # The TLS handshake happens here, in the worker (see the module's docstring).
                task = loop.create_task(loop.connect_accepted_socket(protocol, connection, ssl=self.config.ssl))
                self._tasks.add(task)
                task.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        # A failed TLS handshake (a plain-HTTP client, an untrusting one that hung up) fails the
        # task: one line, as for any client gone wrong, rather than "Task exception was never retrieved".
        if not task.cancelled() and (problem := task.exception()) is not None:
            log.info("a connection failed before its first request: %s", problem or type(problem).__name__)
