"""Functions the SQL benchmark's function host serves next to pgs3v-bridge.

``NOOP_FUNCTION`` answers a QueryVectors event at once with a canned answer of the size a real
one has (``topK`` keys and distances), without calling the store: timed from SQL through
``aws_lambda.invoke``, it is the fixed cost of the Lambda hop (PostgreSQL, the shim, the
function host). ``LEAN_BRIDGE_FUNCTION`` is the bridge contract on the lean client
(:mod:`pgs3v.bench.lean_store_client`): the same SQL through it measures the proposed bridge.
"""

from __future__ import annotations

from typing import Any

from pgs3v.bench.lean_store_client import lean_bridge

NOOP_FUNCTION = "pgs3v-bench-noop"
LEAN_BRIDGE_FUNCTION = "pgs3v-bench-lean-bridge"
FUNCTIONS = {
    NOOP_FUNCTION: "pgs3v.bench.host_functions.canned_query_answer",
    LEAN_BRIDGE_FUNCTION: "pgs3v.bench.host_functions.lean_bridge",
}

__all__ = ["FUNCTIONS", "LEAN_BRIDGE_FUNCTION", "NOOP_FUNCTION", "canned_query_answer", "lean_bridge"]


def canned_query_answer(event: Any, context: Any) -> dict[str, Any]:
    """A QueryVectors answer shaped like the bridge's, with ``topK`` made-up keys and distances."""
    request = event.get("request") if isinstance(event, dict) else None
    top_k = request.get("topK", 10) if isinstance(request, dict) else 10
    count = top_k if isinstance(top_k, int) and 0 < top_k <= 100 else 10
    vectors = [{"key": f"canned-{i:05d}", "distance": 0.01 * (i + 1)} for i in range(count)]
    return {"response": {"vectors": vectors, "distanceMetric": "cosine"}}
