"""Downloads of a finished run: the model (.keras), its config (JSON), history and test metrics (CSV), TF.js (zip).

Each file is made once per run and kept in the run's cache (``TrainingSession.cache``), not on every rerun.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import streamlit as st

from mtl_core.data.sources import parse_source
from mtl_core.errors import MTLError
from mtl_core.io.safe_csv import csv_bytes
from mtl_core.io.strict_json import finite
from ui.plain import plain

if TYPE_CHECKING:
    from mtl_core.training.trainer import EpochEvent, TrainResult
    from ui.state import TrainingSession

HISTORY_COLUMNS = ["epoch", "task", "loss", "val_loss", "weight"]


def config_json(result: TrainResult) -> bytes:
    """The run's config as JSON (load it on Model & losses, or ``--config`` in the CLI, to rerun it)."""
    return (json.dumps(finite(result.config.to_dict()), indent=2) + "\n").encode("utf-8")


def _csv(header: list[str], rows: list[dict]) -> bytes:
    # Task names and metric names come from the user's data: cells a spreadsheet would run are neutralised;
    # NaN and infinities (a diverging epoch) become empty cells.
    return csv_bytes(header, rows)


def history_csv(history: list[EpochEvent]) -> bytes:
    """One row per epoch and task: epoch, task, loss, val_loss, weight, val_<metric>…, elapsed_s."""
    metrics = list(dict.fromkeys(f"val_{m}" for e in history for task in e.val_metrics.values() for m in task))
    rows = []
    for e in history:
        for task, loss in e.loss.items():
            row = {"epoch": e.epoch, "task": task, "loss": loss, "val_loss": e.val_loss.get(task),
                   "weight": e.weights.get(task), "elapsed_s": round(e.elapsed, 3)}
            row.update({f"val_{m}": v for m, v in e.val_metrics.get(task, {}).items()})
            rows.append(row)
    return _csv([*HISTORY_COLUMNS, *metrics, "elapsed_s"], rows)


def test_metrics_csv(test_metrics: dict[str, dict[str, float]]) -> bytes:
    """One row per task and metric: task, metric, value (original units, held-out test rows)."""
    rows = [{"task": task, "metric": name, "value": value}
            for task, metrics in test_metrics.items() for name, value in metrics.items()]
    return _csv(["task", "metric", "value"], rows)


def _cached(session: TrainingSession, name: str, make):
    key = f"export:{name}"
    if key not in session.cache:
        session.cache[key] = make()
    return session.cache[key]


def keras_bytes(session: TrainingSession) -> bytes:
    """The trained model as a standard ``.keras`` file (made on the first download, then kept)."""
    def make() -> bytes:
        from mtl_core.io.saving import model_bytes

        # A pool worker's run brings its file along: no Keras copy (nor TensorFlow) in the server for it.
        shipped = getattr(session.run.result, "keras_bytes", None)
        return shipped if shipped is not None else model_bytes(session.run.result.model, session.run.info)

    return _cached(session, "keras", make)


def tfjs_zip(session: TrainingSession) -> tuple[bytes | None, str | None]:
    """The TF.js layers model as a zip, or None and the reason it can't be exported."""
    def make() -> tuple[bytes | None, str | None]:
        shipped = getattr(session.run.result, "tfjs_zip", None)  # made by a pool worker: no TensorFlow here
        if shipped is not None:
            return shipped
        from mtl_core.io.export_tfjs import export_tfjs_zip

        try:
            return export_tfjs_zip(session.run.result.model, session.run.info), None
        except MTLError as exc:
            return None, str(exc)

    return _cached(session, "tfjs", make)


def _stem(session: TrainingSession) -> str:
    source = parse_source(session.run.config.dataset)
    dataset = re.sub(r"[^A-Za-z0-9_-]+", "_", source.file or source.name).strip("_")
    return f"mtl-{dataset or 'data'}-run{session.token}"


def export_section(session: TrainingSession) -> None:
    """Download buttons for a finished run (nothing while it trains or when it failed)."""
    run = session.run
    result = run.result
    if run.running or result is None:
        return
    stem = _stem(session)
    st.subheader("Export")
    st.caption("This run's model (.keras), its config (load it on Model & losses to train the same run again), "
               "the loss history and test metrics as CSV, and the model for TensorFlow.js in a browser.")
    buttons = st.container(horizontal=True, key="exports")
    # The .keras file is made only when clicked (a deferred download); the small files are made once per run.
    buttons.download_button("Model (.keras)", lambda: keras_bytes(session), file_name=f"{stem}.keras",
                            mime="application/zip", icon=":material/download:", key="download_model",
                            on_click="ignore")
    buttons.download_button("Config (.json)", _cached(session, "config", lambda: config_json(result)),
                            file_name=f"{stem}-config.json", mime="application/json", icon=":material/settings:",
                            key="download_config", on_click="ignore",
                            help="Load it on Model & losses to train this run again (same seed, same history).")
    buttons.download_button("Loss history (.csv)", _cached(session, "history", lambda: history_csv(result.history)),
                            file_name=f"{stem}-history.csv", mime="text/csv", icon=":material/show_chart:",
                            key="download_history", on_click="ignore",
                            help="One row per epoch and task: loss, validation loss, weight, validation metrics.")
    if result.test_metrics:
        buttons.download_button("Test metrics (.csv)",
                                _cached(session, "metrics", lambda: test_metrics_csv(result.test_metrics)),
                                file_name=f"{stem}-test-metrics.csv", mime="text/csv", icon=":material/table:",
                                key="download_metrics", on_click="ignore")
    data, reason = tfjs_zip(session)
    if data is not None:
        buttons.download_button("TF.js model (.zip)", data, file_name=f"{stem}-tfjs.zip", mime="application/zip",
                                icon=":material/javascript:", key="download_tfjs", on_click="ignore",
                                help="model.json and weights for tf.loadLayersModel in a browser.")
    if not result.test_metrics:
        st.caption("No test metrics file: this run has no test split.")
    if data is None:
        st.caption(plain(f"No TF.js export: {reason}"))
    user_weights = run.uses_user_weights
    if user_weights and any(e.weights != result.history[0].weights for e in result.history):
        st.caption("Loss weights changed during this run; the config holds the starting weights, so a rerun from "
                   "it follows the same path only until the first change.")
