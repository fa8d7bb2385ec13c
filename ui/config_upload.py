"""Load a run's config JSON (downloaded from Train) to rerun the same run; model files are never loaded."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from mtl_core.config import TrainConfig
from mtl_core.errors import ConfigError, MTLError, bad_value
from ui import state
from ui.upload import apply_once, is_open

# A config is a few kilobytes; a bigger "config" is something else.
MAX_CONFIG_MB = 1
NEVER_LOADED = ("Model files (.keras) are never loaded: a model file can carry code, and Keras' safe mode has "
                "been bypassed before. Upload the run's config instead to train the same model again.")


def parse_config_json(data: bytes) -> TrainConfig:
    """A validated config from JSON bytes: a bare config, or a CLI ``--json`` result with a ``config`` key."""
    if data[:4] == b"PK\x03\x04":
        raise bad_value("config", "a zip archive", "expected the run's config JSON; model files (.keras) are "
                        "never loaded, download the config from Train instead")
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise bad_value("config", "binary data", "expected a UTF-8 JSON file") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
                          param="config", value=exc.msg) from None
    if isinstance(raw, dict) and isinstance(raw.get("config"), dict):
        raw = raw["config"]
    try:
        return TrainConfig.from_dict(raw)
    except MTLError:
        raise
    except (TypeError, ValueError, AttributeError) as exc:
        # from_dict passes values straight to the dataclass; a wrongly typed field fails here.
        raise ConfigError(f"config is invalid: {exc}.", param="config", value=str(exc)) from None


def check_against_data(config: TrainConfig) -> TrainConfig:
    """Raise the core's message unless the config's dataset exists here and its tasks and inputs fit it."""
    from mtl_core.data.prepare import prepare
    from mtl_core.data.sources import parse_source

    config.dataset = parse_source(config.dataset).name  # an older config's "upload:FILE" is "csv:FILE" now
    prepare(state.dataset_for(config).frame, config)  # the checks a training run starts with (tasks, inputs, split)
    return config


def _use_config(uploaded: Any) -> str:
    config = check_against_data(parse_config_json(uploaded.getvalue()))
    state.replace_config(config)
    return (f"Loaded the config from {uploaded.name}: {state.dataset_title(config.dataset)}, "
            f"tasks {', '.join(config.task_names)}, seed {config.seed}. Press Train to run it.")


def config_upload_section() -> None:
    """An uploader for a run's config JSON; a good file replaces the config, a bad one changes nothing."""
    with st.expander("Load a run's config (.json)", icon=":material/file_open:",
                     expanded=is_open("config_upload", "config_upload")):
        st.caption("Download a finished run's config on **Train** and load it here (or in a new browser session) "
                   "to train the same run again: same data split, same starting weights, same history.")
        uploaded = st.file_uploader("Config JSON", type=["json"], key="config_upload", max_upload_size=MAX_CONFIG_MB,
                                    label_visibility="collapsed")
        st.caption(NEVER_LOADED)
        apply_once(uploaded, "config_upload", _use_config)
