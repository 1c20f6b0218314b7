"""Thousands of indexes under a low file-handle limit: bounded threads and handles, lazy opening.

Before the shared indexer pool every index had two threads polling every second and kept its
files open from the start: 1,000 indexes ran 2,007 threads at 17% idle CPU, and under a limit
of 1,024 file handles CreateIndex failed from the 504th index on.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

from tests.store.test_metrics import _scrape
from tests.support import StoreProcess, client, error_of, process_status

INDEXES = 2_000
OPEN_AT_ONCE = 10
FILE_HANDLES = 256


def _limit_file_handles(server: StoreProcess) -> int:
    """Hold the running server to FILE_HANDLES open files from now on; its pid."""
    assert server.process is not None
    pid = server.process.pid
    assert len(os.listdir(f"/proc/{pid}/fd")) < FILE_HANDLES // 4  # a fresh store holds few
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (FILE_HANDLES, FILE_HANDLES))
    return pid


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_thousands_of_indexes_under_a_low_file_limit(tmp_path: Path) -> None:
    server = StoreProcess(tmp_path / "data", extra_args=("--limit", f"max_open_indexes={OPEN_AT_ONCE}")).start()
    try:
        pid = _limit_file_handles(server)
        s3v = client(server.endpoint)
        s3v.create_vector_bucket(vectorBucketName="many")
        for i in range(INDEXES):
            s3v.create_index(vectorBucketName="many", indexName=f"index-{i}", dataType="float32", dimension=2,
                             distanceMetric="euclidean")
            if i % 10 == 0:
                s3v.put_vectors(vectorBucketName="many", indexName=f"index-{i}",
                                vectors=[{"key": "v", "data": {"float32": [float(i), 1.0]}}])
        assert len(os.listdir(f"/proc/{pid}/fd")) < FILE_HANDLES
        assert process_status(pid, "Threads") < 100  # two indexer threads in all, not two per index
        # Every index answers, reopened as needed (never more than the cap open at once).
        for i in range(0, INDEXES, 10):
            found = s3v.query_vectors(vectorBucketName="many", indexName=f"index-{i}", topK=1,
                                      queryVector={"float32": [float(i), 1.0]})["vectors"]
            assert [v["key"] for v in found] == ["v"]
        assert _scrape(server)[("pgs3v_open_indexes", ())] <= OPEN_AT_ONCE
        assert len(s3v.list_indexes(vectorBucketName="many", maxResults=500)["indexes"]) == 500

        # Idle: no index polls. Over 3 s the whole server uses a sliver of one core.
        time.sleep(3)  # folds of the last writes
        before = _cpu_seconds(pid)
        time.sleep(3)
        assert _cpu_seconds(pid) - before < 0.3

        # No file handle left: CreateIndex is refused (503) and leaves nothing, then works again.
        # Below the handles open now (closing idle indexes may free a few meanwhile): no new one.
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (len(os.listdir(f"/proc/{pid}/fd")) // 2, FILE_HANDLES))
        code, status, _ = error_of(s3v.create_index, vectorBucketName="many", indexName="no-handles",
                                   dataType="float32", dimension=2, distanceMetric="euclidean")
        assert (code, status) == ("ServiceUnavailableException", 503)
        assert error_of(s3v.get_index, vectorBucketName="many", indexName="no-handles")[1] == 404
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (FILE_HANDLES, FILE_HANDLES))
        s3v.create_index(vectorBucketName="many", indexName="no-handles", dataType="float32", dimension=2,
                         distanceMetric="euclidean")

        # A restart opens no index before it answers (at most the cap, in the background).
        server.stop()
        server.start()
        pid = _limit_file_handles(server)
        assert _scrape(server)[("pgs3v_open_indexes", ())] <= OPEN_AT_ONCE
        found = client(server.endpoint).get_vectors(vectorBucketName="many", indexName=f"index-{INDEXES - 10}",
                                                    keys=["v"])["vectors"]
        assert [v["key"] for v in found] == ["v"]
        assert process_status(pid, "Threads") < 100
    finally:
        server.stop()
