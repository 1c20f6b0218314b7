"""Timing queries the same way for every system: one at a time, then from several clients."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

Progress = Callable[[str, int, int], None]
Vector = npt.NDArray[np.float32]


def timed_queries(
    queries: Sequence[Vector] | npt.NDArray[np.float32], ask: Callable[[Vector], list[int]], progress: Progress,
    label: str,
) -> tuple[list[int], list[list[int]]]:
    """Each query's duration (ns) and answer (rows), asked one after the other."""
    durations: list[int] = []
    found: list[list[int]] = []
    total = len(queries)
    for number, vector in enumerate(queries):
        began = time.perf_counter_ns()
        found.append(ask(vector))
        durations.append(time.perf_counter_ns() - began)
        if number % 50 == 0 or number + 1 == total:
            progress(label, number + 1, total)
    return durations, found


def throughput(
    queries: Sequence[Vector] | npt.NDArray[np.float32], ask: Callable[[int, Vector], object], clients: int,
    seconds: float,
) -> float:
    """Queries per second with ``clients`` threads asking back to back (``ask(client, vector)``)."""
    deadline = time.perf_counter() + seconds
    counts = [0] * clients

    def client(number: int) -> None:
        position = number
        while time.perf_counter() < deadline:
            ask(number, queries[position % len(queries)])
            counts[number] += 1
            position += clients

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def untimed_pass(
    queries: Sequence[Vector] | npt.NDArray[np.float32], ask: Callable[[int, Vector], object], clients: int,
) -> None:
    """Ask every query once, split over ``clients`` threads (warms what the queries touch; nothing is timed)."""
    def client(number: int) -> None:
        for position in range(number, len(queries), clients):
            ask(number, queries[position])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
