"""JSON that every parser accepts: NaN and infinities become null."""

from __future__ import annotations

import math


def finite(value: object) -> object:
    """Recursively replace NaN and infinities by None so the output is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value
