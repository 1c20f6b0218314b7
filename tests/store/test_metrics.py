"""``GET /metrics``: what Prometheus scrapes, parsed with Prometheus' own client library."""

from __future__ import annotations

import http.client
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.support import StoreProcess, client, error_of


def _scrape(server: StoreProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("GET", "/metrics")
        reply = connection.getresponse()
        assert reply.status == 200
        assert reply.getheader("content-type", "").startswith("text/plain; version=0.0.4")
        text = reply.read().decode()
    finally:
        connection.close()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def _count(samples: dict[Any, float], operation: str, status: str) -> float:
    return samples.get(("pgs3v_requests_seconds_count", (("operation", operation), ("status", status))), 0.0)


def test_metrics_count_requests_by_operation_and_status(tmp_path: Any) -> None:
    server = StoreProcess(tmp_path / "data").start()
    try:
        s3v = client(server.endpoint)
        s3v.create_vector_bucket(vectorBucketName="metered")
        index = {"vectorBucketName": "metered", "indexName": "counted"}
        s3v.create_index(**index, dataType="float32", dimension=2, distanceMetric="euclidean")
        s3v.put_vectors(**index, vectors=[{"key": f"k{i}", "data": {"float32": [i, 1.0]}} for i in range(7)])
        for _ in range(3):
            s3v.query_vectors(**index, topK=2, queryVector={"float32": [1.0, 1.0]})
        assert error_of(s3v.get_index, vectorBucketName="metered", indexName="absent")[1] == 404
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        connection.request("POST", "/NoSuchOperation", body=b"{}")  # unsigned: refused, still counted
        assert connection.getresponse().status == 403
        connection.close()

        samples = _scrape(server)
        assert _count(samples, "QueryVectors", "200") == 3
        assert _count(samples, "PutVectors", "200") == 1
        assert _count(samples, "GetIndex", "404") == 1
        assert _count(samples, "unknown", "403") == 1  # unknown names never become labels
        assert samples[("pgs3v_requests_seconds_sum", (("operation", "QueryVectors"), ("status", "200")))] > 0
        assert samples[("pgs3v_requests_seconds_bucket",
                        (("le", "+Inf"), ("operation", "QueryVectors"), ("status", "200")))] == 3
        assert samples[("pgs3v_open_indexes", ())] == 1
        assert 0 <= samples[("pgs3v_unindexed_rows", ())] <= 7
        assert 0 < samples[("pgs3v_data_disk_free_bytes", ())] <= samples[("pgs3v_data_disk_total_bytes", ())]
    finally:
        server.stop()
