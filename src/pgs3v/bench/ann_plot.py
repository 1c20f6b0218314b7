"""The recall/latency plot of the ANN benchmark: one panel per data set, one line per system."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

Curve = Sequence[Mapping[str, float]]


def plot_recall_latency(panels: Mapping[str, Mapping[str, Curve]], path: Path) -> Path:
    """Draw ``{data set: {system: [{"recall", "p50_ms", ...}, ...]}}`` to a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to the file
    import matplotlib.pyplot as plt

    count = max(1, len(panels))
    figure, axes = plt.subplots(1, count, figsize=(5.2 * count, 4.2), squeeze=False)
    for axis, (dataset, systems) in zip(axes[0], panels.items(), strict=False):
        for system, points in systems.items():
            ordered = sorted(points, key=lambda point: point["recall"])
            axis.plot([p["recall"] for p in ordered], [p["p50_ms"] for p in ordered], marker="o", label=system)
        axis.set_title(dataset)
        axis.set_xlabel("recall@10")
        axis.set_ylabel("p50 latency per query (ms, log)")
        axis.set_yscale("log")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
