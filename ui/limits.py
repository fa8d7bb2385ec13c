"""The server's limits on one run (``mtl_core.limits``, set in the server's environment) as the pages apply them."""

from __future__ import annotations

import copy

from mtl_core.config import TrainConfig, validate_config
from mtl_core.errors import MTLError
from mtl_core.limits import RunLimits, RunSize, check_run
from ui import state


def server_limits() -> RunLimits:
    """The limits this server runs with (its environment, else the defaults)."""
    return RunLimits.from_env()


def limit_error(cfg: TrainConfig) -> MTLError | None:
    """The message saying ``cfg``'s run is over a server limit (or why its data can't be used), else None.

    A config that does not validate gives None here: the page shows the validation message instead.
    """
    try:
        checked = validate_config(copy.deepcopy(cfg))
    except MTLError:
        return None
    try:
        check_limits(checked)
    except MTLError as exc:
        return exc
    return None


def check_limits(cfg: TrainConfig) -> RunSize:
    """Raise LimitError (or the data's DataError) unless a valid ``cfg`` fits the server's limits."""
    limits = server_limits()
    return check_run(cfg, state.dataset_for(cfg).frame, limits)
