"""What every subcommand shares: one-line argument errors, strict JSON, a progress bar, metric tables."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING

from mtl_core.io.strict_json import finite

if TYPE_CHECKING:
    from mtl_core.config import TrainConfig
    from mtl_core.data.registry import Dataset

__all__ = ["EXIT_BAD_INPUT", "Parser", "ProgressBar", "UsageError", "finite", "format_metrics", "load_checked",
           "strict_dumps"]

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """An argparse error, re-raised so that ``main`` prints it on one line."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, not a usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raise instead of printing usage and exiting."""
        raise UsageError(f"{self.prog}: {message}")


def strict_dumps(value: object) -> str:
    """``json.dumps(finite(value))``, without walking a long history twice when nothing needs replacing."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:  # a NaN or an infinity somewhere: null it
        return json.dumps(finite(value))


def load_checked(config: TrainConfig) -> Dataset:
    """The config's rows, with its tasks and inputs checked against them before TensorFlow is imported.

    ``prepare`` (TF-free) raises every dataset, CSV, column and task error the trainer would, so a typo costs
    a fraction of a second instead of TensorFlow's import; the trainer prepares the rows again (cheap).
    """
    from mtl_core.data.sources import load_source

    data = load_source(config)
    from mtl_core.data.prepare import prepare  # after loading: a bad name or file fails without sklearn

    prepare(data.frame, config)
    return data


class ProgressBar:
    """A one-line progress bar on stderr (only on a terminal), redrawn at most ten times a second."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self._last = 0.0

    def due(self, fraction: float) -> bool:
        """True when ``update`` would redraw now, so callers build the text only then (not every epoch)."""
        return self.enabled and (fraction >= 1 or time.perf_counter() - self._last >= 0.1)

    def update(self, fraction: float, text: str = "") -> None:
        """Redraw the bar at ``fraction`` (0..1) followed by ``text``."""
        if not self.due(fraction):
            return
        now = time.perf_counter()
        self._last = now
        filled = int(30 * min(max(fraction, 0.0), 1.0))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {now - self.start:5.1f}s  {text}\033[K")
        sys.stderr.flush()

    def stage(self, stage: str, fraction: float) -> None:
        """An ``on_progress(stage, fraction)`` callback for comparisons and studies."""
        self.update(fraction, f"{fraction:4.0%} {stage}")

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            sys.stderr.write("\n")


def format_metrics(test_metrics: dict[str, dict[str, float]]) -> str:
    """A plain-text table of test metrics."""
    rows = [("task", "metric", "value")]
    for task, metrics in test_metrics.items():
        rows.extend((task, name, f"{value:.4f}") for name, value in metrics.items())
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
