"""Many clients writing and querying one index at once."""

from __future__ import annotations

import threading
from typing import Any

from tests.support import client

WRITERS = 4
BATCHES = 20
BATCH = 25


def test_concurrent_writers_and_readers(store_server: Any, s3v: Any, index: dict[str, str]) -> None:
    errors: list[BaseException] = []
    done = threading.Event()
    written: set[str] = set()
    lock = threading.Lock()

    def writer(number: int) -> None:
        own = client(store_server.endpoint)
        try:
            for batch in range(BATCHES):
                keys = [f"w{number}-{batch}-{i}" for i in range(BATCH)]
                own.put_vectors(**index, vectors=[
                    {"key": k, "data": {"float32": [1.0, float(number), float(batch), float(i)]},
                     "metadata": {"writer": number}} for i, k in enumerate(keys)])
                with lock:
                    written.update(keys)
                if batch % 5 == 4:
                    own.delete_vectors(**index, keys=keys[:5])
                    with lock:
                        written.difference_update(keys[:5])
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    def reader() -> None:
        own = client(store_server.endpoint)
        try:
            while not done.is_set():
                result = own.query_vectors(**index, topK=20, queryVector={"float32": [1, 1, 1, 1]},
                                           filter={"writer": {"$in": [0, 1]}}, returnDistance=True,
                                           returnMetadata=True)["vectors"]
                distances = [v["distance"] for v in result]
                assert distances == sorted(distances)
                assert all(v["metadata"]["writer"] in (0, 1) for v in result)
                assert len({v["key"] for v in result}) == len(result)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert errors == []
    listed = {v["key"] for p in s3v.get_paginator("list_vectors").paginate(**index) for v in p["vectors"]}
    assert listed == written
    assert len(listed) == WRITERS * BATCHES * BATCH - WRITERS * (BATCHES // 5) * 5
