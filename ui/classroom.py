"""Presenter mode and classroom flags in the URL, like TensorFlow Playground's hide flags.

A teacher hands out a link such as ``/train?ds=iris&…&only=weights,play&hide=data,model`` and every student
sees only the loss weights and the run buttons, on Train and Predict. The URL keys:

- ``present=1``: presenter mode, larger text for a projector and fewer controls (``PRESENTER_HIDES``).
- ``hide=NAME,…``: hide these controls (names in ``CONTROLS``) and pages (URL paths in ``PAGES``).
- ``only=NAME,…``: keep only these controls, hiding every other one; if it names pages, keep only those pages
  (and Home).

The flags are read once per session from the first URL and written back on every page (``share.sync_url``) and
into share links, so they survive page switches and sharing. Controls are hidden with CSS on the keyed
elements (``.st-key-<key>``): a hidden widget keeps its value, it just can't be touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from mtl_core.errors import bad_value
from ui import state

PRESENT, HIDE, ONLY = "present", "hide", "only"
KEYS = (PRESENT, HIDE, ONLY)

# A control name -> the widget keys (or key prefixes, ending in "*") of the elements it covers, on any page.
CONTROLS: dict[str, tuple[str, ...]] = {
    "presets": ("preset_*",),
    "dataset": ("dataset", "param-*", "csv_upload"),
    "tasks": ("tasks", "kind-*", "inputs"),
    "arch": ("arch", "experts", "expert_units"),
    "layers": ("sizes_*",),
    "training": ("activation", "dropout", "l2", "optimizer", "lr", "batch_size", "epochs", "seed"),
    "weighting": ("weighting", "wp-*"),
    "weights": ("lw-*", "train-lw*"),
    "more": ("more_settings",),
    "play": ("train_button", "play_button", "pause_button", "step_button", "stop_button", "reset_button",
             "run_buttons", "run_controls", "continuous", "speed"),
    "compare": ("compare_panel",),
    "exports": ("exports_section",),
    "share": ("share_link", "config_file"),
    "examples": ("load_example", "flower-*"),
    "inputs": ("features",),
}
# The pages a link may hide, by URL path (Home stays: it is where a session starts).
PAGES = ("data", "model", "train", "predict", "relatedness", "runs", "tune")
# What presenter mode leaves out: the settings a class watches rather than edits.
PRESENTER_HIDES = ("more", "compare", "exports", "share")


@dataclass(frozen=True)
class Flags:
    """The session's layout flags: presenter mode, hidden controls, hidden pages."""

    present: bool = False
    controls: frozenset[str] = frozenset()
    pages: frozenset[str] = frozenset()
    hide: tuple[str, ...] = ()
    only: tuple[str, ...] = ()

    def params(self) -> dict[str, str]:
        """The URL parameters that give these flags (empty for none)."""
        out = {PRESENT: "1"} if self.present else {}
        if self.hide:
            out[HIDE] = ",".join(self.hide)
        if self.only:
            out[ONLY] = ",".join(self.only)
        return out


def _names(key: str, text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    valid = set(CONTROLS) | set(PAGES)
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise bad_value(f"link parameter {key!r}", unknown[0],
                        f"expected control names ({', '.join(CONTROLS)}) or pages ({', '.join(PAGES)})")
    return names


def parse(params: Mapping[str, str]) -> Flags:
    """The flags a URL's parameters give; ConfigError naming the key and the unknown name."""
    present = params.get(PRESENT, "").strip().lower()
    if present not in ("", "0", "1", "true", "false", "yes", "no"):
        raise bad_value(f"link parameter {PRESENT!r}", params[PRESENT], "expected 1 or 0")
    hide, only = _names(HIDE, params.get(HIDE, "")), _names(ONLY, params.get(ONLY, ""))
    controls = {n for n in hide if n in CONTROLS}
    pages = {n for n in hide if n in PAGES}
    if any(n in CONTROLS for n in only):
        controls |= set(CONTROLS) - set(only)
    if any(n in PAGES for n in only):
        pages |= set(PAGES) - set(only)
    on = present in ("1", "true", "yes")
    if on:
        controls |= set(PRESENTER_HIDES) - set(only)
    return Flags(on, frozenset(controls), frozenset(pages), hide, only)


_FLAGS = "classroom.flags"
_ERROR = "classroom.error"
_RAW = "classroom.raw"


def flags() -> Flags:
    """The session's flags, read from the URL the session started with (a bad flag is reported, then ignored)."""
    scratch = state.scratch()
    if _FLAGS not in scratch:
        try:
            scratch[_FLAGS] = parse(st.query_params.to_dict())
        except ValueError as exc:
            scratch[_FLAGS], scratch[_ERROR] = Flags(), f"{exc} The link's other flags are ignored too."
            # A bad link keeps its address: the flags are written back as they came, to be fixed there.
            scratch[_RAW] = {k: v for k, v in st.query_params.to_dict().items() if k in KEYS}
    return scratch[_FLAGS]


def url_params() -> dict[str, str]:
    """The session's flags as URL parameters (what every page's URL and every share link carries)."""
    current = flags()
    return state.scratch().get(_RAW) or current.params()


def error() -> str | None:
    """The message about a bad flag in the session's first URL, if there was one."""
    return state.scratch().get(_ERROR)


def _selector(key: str) -> str:
    # Streamlit's class for a keyed element: "st-key-" + the key with every character outside [A-Za-z0-9_-]
    # turned into "-" (so "lw:species" is "st-key-lw-species").
    if key.endswith("*"):
        return f'[class*="st-key-{key[:-1]}"]'
    return f".st-key-{key}"


def hidden_selectors(current: Flags) -> list[str]:
    """CSS selectors of every element the flags hide: keyed controls, and links to hidden pages."""
    selectors = [_selector(key) for name in sorted(current.controls) for key in CONTROLS[name]]
    for page in sorted(current.pages):
        selectors.append(f'[data-testid="stPageLink"]:has(a[href$="/{page}"])')
    return selectors


def page_visibility(url_path: str, current: Flags) -> str:
    """``"hidden"`` for a page the flags hide (out of the navigation, links to it hidden), else ``"visible"``.

    Hidden, not removed: the pages' own links to it then still resolve (Streamlit raises on a link to a page
    missing from the navigation), and a link straight to it still opens it.
    """
    return "hidden" if url_path in current.pages else "visible"
