"""Per-run records under runs/<env-id>/<run>/: metrics.csv (one row per iteration) and curve.png."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

from rl_web_agent.policy.files import atomic_write

from .ppo import Progress

COLUMNS = [f.name for f in dataclasses.fields(Progress)]


class MetricsCSV:
    """Appends rows; on resume, drops rows past the resumed step (written after the last saved state)."""

    def __init__(self, path: Path, resume_step: int | None = None):
        self.path = Path(path)
        rows = []
        if resume_step is not None and self.path.is_file():
            with self.path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        with self.path.open("w", newline="") as f:
            w = csv.DictWriter(f, COLUMNS)
            w.writeheader()
            w.writerows(rows)
        self.f = self.path.open("a", newline="")
        self.w = csv.DictWriter(self.f, COLUMNS)

    def write(self, p: Progress) -> None:
        row = dataclasses.asdict(p)
        self.w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        self.f.flush()

    def close(self) -> None:
        self.f.close()


def plot_curve(csv_path: Path, png_path: Path, title: str) -> None:
    """Training return (rolling mean of recent episodes) and greedy eval means against env steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with Path(csv_path).open(newline="") as f:
        rows = list(csv.DictReader(f))
    step = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(step, [float(r["ep_return"]) for r in rows], label="train return (recent episodes)")
    ev = [
        (s, float(r["eval_mean"]))
        for s, r in zip(step, rows, strict=True)
        if not math.isnan(float(r["eval_mean"]))
    ]
    if ev:
        ax.plot(*zip(*ev, strict=True), "o", label="greedy eval mean")
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write(Path(png_path), buf.getvalue())
