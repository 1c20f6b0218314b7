"""Benchmark results: a flat list of named figures, each one system's on one workload.

A figure is addressed by ``(workload, system, metric)``, e.g. ``("query", "store", "p50_ms")``.
Comparisons are ratios of one system's figure to a baseline's figure for the same workload and
metric, so a new system (an ANN index, pgvector) joins by adding its measurements under its
own name: nothing else in the result's shape changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

LATENCY_METRICS = ("p50_ms", "p95_ms", "p99_ms")
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Measurement:
    """One figure of one system on one workload."""

    workload: str
    system: str
    metric: str
    value: float
    unit: str


@dataclass(frozen=True)
class Ratio:
    """A system's figure divided by the baseline's figure for the same workload and metric."""

    workload: str
    metric: str
    system: str
    baseline: str
    value: float


def latency_measurements(workload: str, system: str, durations_ns: Sequence[int]) -> list[Measurement]:
    """Percentiles, mean and count of per-call durations, in milliseconds."""
    if not durations_ns:
        raise ValueError(f"no timed calls for {system} on {workload}")
    milliseconds = np.asarray(durations_ns, dtype=np.float64) / 1e6
    p50, p95, p99 = (float(v) for v in np.percentile(milliseconds, [50, 95, 99]))
    return [
        Measurement(workload, system, "p50_ms", p50, "ms"),
        Measurement(workload, system, "p95_ms", p95, "ms"),
        Measurement(workload, system, "p99_ms", p99, "ms"),
        Measurement(workload, system, "mean_ms", float(milliseconds.mean()), "ms"),
        Measurement(workload, system, "calls", float(len(milliseconds)), "count"),
    ]


def smallest_setting_reaching(curve: Sequence[Mapping[str, float]], setting: str, recall: float) -> int:
    """The smallest ``setting`` (ef_search, probes) of a curve reaching ``recall``; the largest when none does.

    Throughput compared at unequal recall compares unlike answers: each system's QPS is also
    taken at the setting where it gives the other's recall.
    """
    reaching = [point[setting] for point in curve if point["recall"] >= recall]
    return int(min(reaching) if reaching else max(point[setting] for point in curve))


def ratios_to(
    baseline: str, measurements: Iterable[Measurement], metrics: Sequence[str] = LATENCY_METRICS
) -> list[Ratio]:
    """Every other system's figure over the baseline's, where the baseline has that figure."""
    measurements = list(measurements)
    base = {(m.workload, m.metric): m.value for m in measurements if m.system == baseline and m.metric in metrics}
    ratios = []
    for m in measurements:
        reference = base.get((m.workload, m.metric))
        if m.system != baseline and reference:
            ratios.append(Ratio(m.workload, m.metric, m.system, baseline, m.value / reference))
    return ratios


@dataclass
class BenchResult:
    """Everything one benchmark run measured, with what it ran on and how it was invoked."""

    benchmark: str
    command: str
    started_at: str
    parameters: dict[str, Any]
    machine: dict[str, Any]
    systems: dict[str, str]
    measurements: list[Measurement] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def figure(self, workload: str, system: str, metric: str) -> float:
        """The value of one figure; KeyError if it was not measured."""
        for m in self.measurements:
            if (m.workload, m.system, m.metric) == (workload, system, metric):
                return m.value
        raise KeyError((workload, system, metric))

    def ratio(self, workload: str, metric: str, system: str, baseline: str) -> float:
        """One system-over-baseline ratio; KeyError if it was not computed."""
        for r in self.ratios:
            if (r.workload, r.metric, r.system, r.baseline) == (workload, metric, system, baseline):
                return r.value
        raise KeyError((workload, metric, system, baseline))

    def to_document(self) -> dict[str, Any]:
        """The JSON document written by ``--output-json``."""
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}


def write_json(result: BenchResult, path: Path) -> Path:
    """Write the result as indented JSON, creating parent directories; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_document(), indent=2) + "\n", encoding="utf-8")
    return path


@contextmanager
def phase(phases: dict[str, float], name: str) -> Iterator[None]:
    """Add the block's wall-clock seconds to ``phases[name]``."""
    began = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - began


def default_output_path(benchmark: str = "ann") -> Path:
    """bench-results/<benchmark>-<UTC timestamp>.json under the working directory."""
    return Path("bench-results") / f"{benchmark}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
