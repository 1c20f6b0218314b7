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


def plot_settling(timelines: Mapping[str, Sequence[Mapping[str, float]]], path: Path) -> Path:
    """Draw ``{data set: [settling points]}``: p50 after the load ended, and the segment count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = max(1, len(timelines))
    figure, axes = plt.subplots(1, count, figsize=(5.2 * count, 4.2), squeeze=False)
    for axis, (dataset, points) in zip(axes[0], timelines.items(), strict=False):
        seconds = [p["seconds"] for p in points]
        axis.plot(seconds, [p["p50_ms"] for p in points], marker="o", label="QueryVectors p50 over HTTP (ms)")
        axis.set_yscale("log")
        axis.set_xlabel("seconds since the load ended")
        axis.set_ylabel("p50 latency (ms, log)")
        axis.grid(True, which="both", alpha=0.3)
        segments = axis.twinx()
        segments.step(seconds, [p["segments"] for p in points], where="post", color="tab:orange", label="segments")
        segments.set_ylabel("segments")
        axis.set_title(f"{dataset}: after the load, no optimize call")
        lines = axis.get_legend_handles_labels()[0] + segments.get_legend_handles_labels()[0]
        labels = axis.get_legend_handles_labels()[1] + segments.get_legend_handles_labels()[1]
        axis.legend(lines, labels, fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
