"""Small tables and one-line texts describing a dataset's columns and tasks."""

from __future__ import annotations

import pandas as pd

from mtl_core.data.tasks import class_label, infer_kind, is_numeric

MAX_CLASSES_SHOWN = 8


def column_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per column: type, distinct values, range or most common value, and the kind it would be as a task."""
    rows = []
    for col in frame.columns:
        series = frame[col]
        numeric = is_numeric(series)
        row = {"column": col, "type": "number" if numeric else "text", "distinct": int(series.nunique()),
               "min": None, "median": None, "max": None, "most common": None, "as a task": infer_kind(series)}
        if numeric:
            row.update({"min": float(series.min()), "median": float(series.median()), "max": float(series.max())})
        else:
            top = series.value_counts()
            row["most common"] = f"{class_label(top.index[0])} ({int(top.iloc[0])})" if len(top) else None
        rows.append(row)
    return pd.DataFrame(rows).set_index("column")


def task_profile(series: pd.Series, kind: str) -> str:
    """Class balance (for classification) or value range (for regression), in one line."""
    if kind == "regression":
        if not is_numeric(series):
            return "text values: cannot be a regression"
        return (f"range {series.min():.4g} to {series.max():.4g}, mean {series.mean():.4g}, "
                f"std {series.std():.3g}")
    counts = series.map(class_label).value_counts()
    total = int(counts.sum())
    parts = [f"{label} {n} ({n / total:.0%})" for label, n in counts.iloc[:MAX_CLASSES_SHOWN].items()]
    if len(counts) > MAX_CLASSES_SHOWN:
        parts.append(f"and {len(counts) - MAX_CLASSES_SHOWN} more classes")
    return f"{len(counts)} classes: " + ", ".join(parts)
