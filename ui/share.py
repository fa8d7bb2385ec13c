"""The setup in the page URL (like TensorFlow Playground's links): written on every run, read once per session.

A link holds the dataset and its generator parameters, tasks, layer sizes, loss weights, strategy, seed and
every other setting that differs from TrainConfig's defaults, e.g.
``?ds=iris&t=species,petal_width&sh=10,10&hd=&w=petal_width:0.5&wt=fixed&seed=0&ep=200&lr=0.01&opt=adam``.
Uploaded CSVs stay in their session, so a setup on one has no link.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from urllib.parse import quote, urlencode

import streamlit as st

from mtl_core.config import TaskSpec, TrainConfig, parse_sizes, validate_config
from mtl_core.data.sources import parse_source
from mtl_core.errors import MTLError, bad_value, short
from mtl_core.fields import FIELDS, scalar_fields
from ui import state
from ui.plain import plain

# Short key -> (TrainConfig field, type) for the plain settings, and for the layer sizes; from the field table.
SCALARS: dict[str, tuple[str, type]] = {f.url: (f.name, f.kind) for f in scalar_fields() if f.url}
SIZES = {FIELDS[name].url: name for name in ("shared", "head")}
# Written even when they equal the defaults, so a link says what it sets up at a glance.
ALWAYS = ("ds", "t", "sh", "hd", "wt", "seed", "ep", "lr", "opt", "es")
# Links made before early stopping was on by default never wrote ``es`` (off was the default then): a link
# without it keeps meaning what it meant, so an old link still trains the run it was made from.
LEGACY_DEFAULTS = {"es": False}
# Prefixes of per-name keys: one task's head sizes, a weighting parameter, a dataset (generator) parameter.
HEAD, WEIGHTING_PARAM, DATASET_PARAM = FIELDS["heads"].url, FIELDS["weighting_params"].url, FIELDS["dataset_params"].url
LIST_KEYS = ("ds", "t", "in", "w")
UPLOAD_NOTE = ("This setup uses a CSV you uploaded; uploaded data stays in your browser session, so it can't be "
               "in a link. Share the CSV together with the run's config JSON (downloaded on Train) instead.")

# The notebook id: in the URL of every page (so a bookmark or a reload finds the session's runs again) but
# never in a share link (a shared link must not show the sharer's runs).
NOTEBOOK = "nb"
_NOTEBOOK_ID = re.compile(r"[A-Za-z0-9_-]{6,64}")

_DONE = "share.read"
_ERROR = "share.error"
_FALLBACK = "share.fallback"
_LINK = "share.link"


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))  # the shortest text that reads back as the same float
    return text[:-2] if text.endswith(".0") else text


def _sizes(sizes: list[int]) -> str:
    return ",".join(str(s) for s in sizes)


def config_to_params(config: TrainConfig) -> dict[str, str]:
    """The link parameters of a config (empty for an uploaded dataset, which can't be in a link)."""
    if parse_source(config.dataset).is_csv:
        return {}
    defaults = TrainConfig()
    params = {"ds": config.dataset}
    for name, value in sorted(config.dataset_params.items()):
        params[DATASET_PARAM + name] = value if isinstance(value, str) else _text(value)
    params["t"] = ",".join(t.column if t.kind is None else f"{t.column}:{t.kind}" for t in config.tasks)
    if config.inputs is not None:
        params["in"] = ",".join(config.inputs)
    for key, name in SIZES.items():
        if key in ALWAYS or getattr(config, name) != getattr(defaults, name):
            params[key] = _sizes(getattr(config, name))
    for task, sizes in config.heads.items():
        params[HEAD + task] = _sizes(sizes)
    if config.loss_weights:
        params["w"] = ",".join(f"{task}:{_text(w)}" for task, w in config.loss_weights.items())
    mmoe = config.arch == "mmoe"
    for key, (name, _) in SCALARS.items():
        value = getattr(config, name)
        if key in ALWAYS or value != getattr(defaults, name) or (mmoe and key in ("ex", "eu")):
            params[key] = value if isinstance(value, str) else _text(value)
    for name, value in sorted(config.weighting_params.items()):
        params[WEIGHTING_PARAM + name] = _text(value)
    return params


def query_string(params: Mapping[str, str]) -> str:
    """``params`` as a URL query, keeping commas and colons readable."""
    return urlencode(params, quote_via=quote, safe=",:")


def _number(key: str, text: str, kind: type) -> object:
    text = text.strip()
    if kind is bool:
        if text.lower() in ("1", "true", "yes"):
            return True
        if text.lower() in ("0", "false", "no"):
            return False
        raise bad_value(f"link parameter {key!r}", text, "expected 1 or 0")
    try:
        number = float(text)
    except ValueError:
        raise bad_value(f"link parameter {key!r}", text, "expected a number") from None
    if kind is int:
        if not math.isfinite(number) or not number.is_integer():
            raise bad_value(f"link parameter {key!r}", text, "expected a whole number")
        return int(number)
    return number


def _pairs(key: str, text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, text.split(",")):
        name, sep, value = part.rpartition(":")
        if not sep or not name:
            raise bad_value(f"link parameter {key!r}", text,
                            "expected task:weight pairs such as species:1,petal_width:0.5")
        out[name] = _number(key, value, float)
    return out


def config_from_params(params: Mapping[str, str]) -> TrainConfig:
    """Build and validate a config from link parameters; ConfigError naming the first bad one."""
    from mtl_core.data.registry import get_spec

    if "ds" not in params or not params["ds"].strip():
        raise bad_value("link parameter 'ds'", params.get("ds"), "expected a dataset name")
    spec = get_spec(params["ds"].strip())
    kinds = {p.name: p.kind for p in spec.params}
    config = TrainConfig(dataset=spec.name)
    known = set(LIST_KEYS) | set(SIZES) | set(SCALARS)
    for key, value in params.items():
        if key.startswith(DATASET_PARAM):
            name = key[len(DATASET_PARAM):]
            # An unknown generator parameter is reported by the dataset loader with the valid names.
            kind = kinds.get(name, float)
            config.dataset_params[name] = value.strip() if kind is str else _number(key, value, kind)
        elif key.startswith(HEAD):
            config.heads[key[len(HEAD):]] = parse_sizes(f"heads[{key[len(HEAD):]!r}]", value)
        elif key.startswith(WEIGHTING_PARAM):
            config.weighting_params[key[len(WEIGHTING_PARAM):]] = _number(key, value, float)
        elif key not in known:
            valid = ", ".join(sorted(known)) + f", {DATASET_PARAM}NAME, {HEAD}TASK, {WEIGHTING_PARAM}NAME"
            raise bad_value("link parameter", key, f"unknown; valid parameters are {valid}")
    config.tasks = [TaskSpec.parse(t) for t in params.get("t", "").split(",") if t.strip()]
    if params.get("in", "").strip():
        config.inputs = [c.strip() for c in params["in"].split(",") if c.strip()]
    for key, name in SIZES.items():
        if key in params:
            setattr(config, name, parse_sizes(name, params[key]))
    if "w" in params:
        config.loss_weights = _pairs("w", params["w"])
    for key, (name, kind) in SCALARS.items():
        if key in params:
            setattr(config, name, params[key].strip() if kind is str else _number(key, params[key], kind))
        elif key in LEGACY_DEFAULTS:
            setattr(config, name, LEGACY_DEFAULTS[key])
    return validate_config(config)


def restore_link(params: Mapping[str, str]) -> TrainConfig:
    """The config a link describes, checked against its data as a training run would be."""
    from ui.config_upload import check_against_data

    return check_against_data(config_from_params(params))


# Keys a link may hold that are not the setup: the notebook id and the layout flags (ui.classroom).
def _setup_params(params: Mapping[str, str]) -> dict[str, str]:
    from ui import classroom, restart

    return {k: v for k, v in params.items() if k not in (NOTEBOOK, restart.URL_KEY) and k not in classroom.KEYS}


def _link_key(exc: MTLError, params: Mapping[str, str]) -> str | None:
    """The link parameter an error is about (``ep`` for ``epochs``, ``h.sex`` for ``heads['sex']``), else None."""
    param, value = exc.param or "", exc.value
    match = re.fullmatch(r"link parameter '(.+)'", param)
    if match:
        return match.group(1)
    if param == "link parameter":
        return str(value)
    for pattern, prefix in ((r"dataset_param '(.+)'", DATASET_PARAM), (r"heads\['(.+)'\]", HEAD),
                            (r"weighting_params\['(.+)'\]", WEIGHTING_PARAM)):
        match = re.fullmatch(pattern, param)
        if match:
            return prefix + match.group(1)
    if param == "heads":
        return HEAD + str(value)
    if param.startswith("loss_weight"):
        return "w"
    if param in ("task", "tasks") or param.startswith("kind of task"):
        return "t"
    spec = FIELDS.get(param)
    if spec is not None and spec.url and not spec.url.endswith("."):
        return spec.url
    return next((key for key, text in params.items() if text == str(value)), None)


def nearest_link(params: Mapping[str, str]) -> tuple[TrainConfig, dict[str, str]] | None:
    """The valid setup nearest to a bad link, and the keys it reset (with why); None if there is none.

    Each round drops the parameter the error names (its default is used instead); a bad dataset falls back
    to the default preset's data and tasks, bad tasks to the dataset's suggested ones.
    """
    from mtl_core.data.registry import DATASETS
    from mtl_core.presets import PRESETS

    params, dropped = dict(params), {}
    for _ in range(len(params) + 2):
        try:
            return restore_link(params), dropped
        except MTLError as exc:
            key, why = _link_key(exc, params), str(exc)
        if key is None or key in dropped:
            return None
        dropped[key] = why
        per_task = (HEAD, "w", "in")
        if key == "ds":
            base = config_to_params(PRESETS[state.DEFAULT_PRESET].make_config())
            params = {k: v for k, v in params.items() if not k.startswith((DATASET_PARAM, *per_task, "t"))}
            params.update(ds=base["ds"], t=base["t"])
        elif key == "t":
            spec = DATASETS.get(params.get("ds", "").strip().lower())
            if spec is None:
                return None
            params = {k: v for k, v in params.items() if not k.startswith(per_task)}
            params["t"] = ",".join(spec.suggested_tasks)
        elif key in params:
            del params[key]
        else:
            return None
    return None


def _bad_link_message(exc: MTLError, dropped: dict[str, str] | None) -> str:
    if not dropped:
        return f"This link's setup can't be used, so the default one is shown: {exc}"
    reasons = " ".join(dropped.values())
    names = ", ".join(short(k) for k in dropped)
    return (f"Part of this link can't be used: {reasons} Shown instead: the nearest valid setup, with {names} "
            f"at {'its' if len(dropped) == 1 else 'their'} default. The address keeps your link until you "
            "change a setting.")


def sync_url() -> None:
    """Once per session, set up the config from the page's link; then keep the link in step with the config.

    Runs in ``app.py`` before the page, so a link takes effect before the default preset would. A bad link
    opens the nearest valid setup with a message naming the bad value, and its address is left as it was
    (on every page) until the user changes a setting, so the link being fixed is not lost.
    """
    from ui import classroom

    scratch = state.scratch()
    # The id goes into the URL with the rest below: writing it alone first would show the browser an address
    # holding only ``nb`` for a moment.
    notebook_id = notebook(write=False)
    if not scratch.get(_DONE):
        scratch[_DONE] = True
        params = _setup_params(st.query_params.to_dict())
        if "ds" in params and not state.has_config():
            try:
                state.replace_config(restore_link(params))
            except MTLError as exc:
                nearest = nearest_link(params)
                if nearest is not None:
                    state.replace_config(nearest[0])
                scratch[_ERROR] = _bad_link_message(exc, nearest and nearest[1])
                scratch[_FALLBACK] = state.config().to_dict()
                scratch[_LINK] = params
    config = state.config()
    link = config_to_params(config)
    if scratch.get(_ERROR):
        if config.to_dict() == scratch[_FALLBACK]:
            st.error(plain(scratch[_ERROR]), icon=":material/link_off:")  # the link's values: plain text
            link = scratch[_LINK]
        else:
            scratch[_ERROR] = None
    from ui import restart

    # While the session's training runs, its id too: a page reconnecting after a restart says what happened.
    wanted = {**link, **classroom.url_params(), **restart.url_params(), NOTEBOOK: notebook_id}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def notebook(write: bool = True) -> str:
    """The session's notebook id: kept once set, else the URL's ``nb``, else a new random one.

    The id is what the run store files the session's runs under, so it is unguessable (72 random bits).
    Called by ``sync_url`` on every page, and by a page that may run on its own (a deep link opened first
    after a server start skips ``app.py``), which then puts it in the URL itself.
    """
    notebook_id = state.notebook()
    if notebook_id is None:
        given = st.query_params.get(NOTEBOOK, "")
        notebook_id = given if _NOTEBOOK_ID.fullmatch(given) else secrets.token_urlsafe(9)
        state.set_notebook(notebook_id)
    if write and st.query_params.get(NOTEBOOK) != notebook_id:
        st.query_params[NOTEBOOK] = notebook_id
    return notebook_id


def app_root(url: str | None, page_path: str = "model") -> str:
    """The app's home URL from this page's URL.

    Links point at the home page on purpose: while no session has opened the home page since the server
    started, Streamlit runs a deep link's page script on its own (its legacy ``pages/`` folder mode), without
    ``app.py``, so the link would not be read.
    """
    if not url:
        return ""
    url = url.rstrip("/")
    if url.endswith("/" + page_path):
        url = url[: -len(page_path) - 1]
    return url + "/"


def share_link() -> None:
    """The "copy link" box of the Model page: the URL of this setup (a classroom link can hide it: ``share``)."""
    with st.container(key="share_link"):
        _share_link_box()


def _share_link_box() -> None:
    config = state.config()
    st.subheader("Share this setup")
    params = config_to_params(config)
    if not params:
        st.info(UPLOAD_NOTE, icon=":material/link_off:")
        return
    from ui import classroom

    params.update(classroom.url_params())  # a classroom link's flags stay in the links made from it
    st.code(f"{app_root(st.context.url)}?{query_string(params)}", language=None, wrap_lines=True)
    st.caption("Copy this link (hover it: the copy button is at its right) to open the same setup in another browser: "
               "dataset, tasks, layer sizes, loss weights, strategy, seed and the other settings. "
               "Uploaded CSV files can't be in a link.")

