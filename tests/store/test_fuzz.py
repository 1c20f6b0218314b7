"""The seeded fuzzer (tests/store/fuzzing.py) against a real store: no 5xx, no hang, bounded memory.

10,000 requests over every operation of botocore's model, one keep-alive connection (reopened
when an answer closes it), each with a 60 s timeout: a hang fails the test instead of stalling
it. Afterwards the store must still hold its data and answer a normal query.
"""

from __future__ import annotations

import http.client
import os
from pathlib import Path

import numpy as np
from botocore.credentials import Credentials

from tests.store.fuzzing import Fuzzer, Target
from tests.support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoreProcess, client, process_status

REQUESTS = int(os.environ.get("PGS3V_FUZZ_REQUESTS", "10000"))
SEED = int(os.environ.get("PGS3V_FUZZ_SEED", "20261204"))
DIMENSION = 4


def _target(server: StoreProcess) -> Target:
    s3v = client(server.endpoint)
    bucket, index = "fuzz-target", "fuzzed"
    bucket_arn = s3v.create_vector_bucket(vectorBucketName=bucket)["vectorBucketArn"]
    index_arn = s3v.create_index(vectorBucketName=bucket, indexName=index, dataType="float32", dimension=DIMENSION,
                                 distanceMetric="cosine",
                                 metadataConfiguration={"nonFilterableMetadataKeys": ["text"]})["indexArn"]
    rows = np.random.default_rng(1).standard_normal((300, DIMENSION)).astype(np.float32)
    keys = tuple(f"key-{i}" for i in range(len(rows)))
    s3v.put_vectors(vectorBucketName=bucket, indexName=index, vectors=[
        {"key": key, "data": {"float32": row.tolist()},
         "metadata": {"genre": ["drama", "comedy"][i % 2], "year": 1990 + i % 30, "text": f"row {i}"}}
        for i, (key, row) in enumerate(zip(keys, rows, strict=True))])
    tokens = (s3v.list_vectors(vectorBucketName=bucket, indexName=index, maxResults=5)["nextToken"],
              s3v.query_vectors(vectorBucketName=bucket, indexName=index, topK=150,
                                queryVector={"float32": rows[0].tolist()})["nextToken"])
    return Target(bucket, index, bucket_arn, index_arn, DIMENSION, keys, tokens)


def test_fuzzed_requests_never_get_a_5xx(tmp_path: Path) -> None:
    server = StoreProcess(tmp_path / "data").start()
    try:
        assert server.process is not None
        target = _target(server)
        host = f"127.0.0.1:{server.port}"
        fuzzer = Fuzzer(SEED, target, Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), REGION, host)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        baseline = process_status(server.process.pid, "VmRSS") / 1024
        failures: list[str] = []
        statuses: dict[int, int] = {}
        for _ in range(REQUESTS):
            request = fuzzer.request()
            try:
                connection.request(request.method, request.path, body=request.body, headers=request.headers)
                reply = connection.getresponse()
                answer = reply.read()
            except (http.client.HTTPException, OSError) as error:
                # A closed connection is fine (the store closes after refusing a body unread);
                # the same request on a fresh one must then be answered.
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                try:
                    connection.request(request.method, request.path, body=request.body, headers=request.headers)
                    reply = connection.getresponse()
                    answer = reply.read()
                except (http.client.HTTPException, OSError):
                    failures.append(f"no answer ({error!r}): {request.describe()}")
                    connection.close()
                    continue
            statuses[reply.status] = statuses.get(reply.status, 0) + 1
            if reply.status >= 500:
                failures.append(f"{reply.status} {answer[:300]!r}: {request.describe()}")
            if reply.getheader("connection", "").lower() == "close":
                connection.close()
        connection.close()
        grown = process_status(server.process.pid, "VmRSS") / 1024 - baseline
        assert not failures, f"seed {SEED}: {len(failures)} failures, first: " + "\n".join(failures[:10])
        assert grown < 300, f"resident memory grew by {grown:.0f} MB over {REQUESTS} requests"
        # Every kind of answer was reached: not only validation errors.
        assert statuses.get(200, 0) > REQUESTS // 20 and statuses.get(400, 0) > REQUESTS // 10, statuses

        s3v = client(server.endpoint)
        found = s3v.query_vectors(vectorBucketName=target.bucket, indexName=target.index, topK=3,
                                  queryVector={"float32": [1.0, 0.0, 0.0, 0.0]})["vectors"]
        assert len(found) == 3
    finally:
        server.stop()
