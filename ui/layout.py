"""The app-wide layout rules for projectors and small screens (1024x768, 1280x720, 800 px), in one style block.

Streamlit cuts what does not fit its column: a metric value becomes "0.7…", a number input with its +/- buttons
leaves room for one digit, a button label gives way to its icon. These rules let such text shrink with the
window and wrap instead of being cut; presenter mode scales the whole page up for the back row.
"""

from __future__ import annotations

import streamlit as st

from ui.classroom import Flags, hidden_selectors

_BASE = """
/* Metric values and labels (test metrics, predictions): sized by the column they sit in (a third of a
   1024 px page is ~200 px), so "0.793" or "Chinstrap" fits; a value still too long wraps rather than "0.7…". */
[data-testid="stColumn"] { container-type: inline-size; }
[data-testid="stMetricValue"] { font-size: clamp(1rem, 14cqi, 2.25rem); line-height: 1.25; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] *, [data-testid="stMetricLabel"],
[data-testid="stMetricLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: anywhere;
}
/* Button labels: in a column too narrow for the label, wrap it onto two lines instead of "Compare with…"
   (or the bare icon). Rows of buttons are flowing containers, where each button is as wide as its label. */
[data-testid="stButton"] button [data-testid="stMarkdownContainer"],
[data-testid="stDownloadButton"] button [data-testid="stMarkdownContainer"],
[data-testid="stButton"] button p, [data-testid="stDownloadButton"] button p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
/* Widget labels ("Layer 1") stay on one line as long as the box is wide enough, then wrap between words. */
[data-testid="stWidgetLabel"] p { overflow-wrap: normal; word-break: keep-all; }
/* Layer-size boxes: the +/- buttons take the room of the digits; arrow keys and typing still step them. */
[class*="st-key-sizes_"] [data-testid="stNumberInputStepDown"],
[class*="st-key-sizes_"] [data-testid="stNumberInputStepUp"] { display: none; }
[class*="st-key-sizes_"] input { padding-right: 0.5rem; min-width: 3.2em; }
/* Projectors and small laptops: the wide layout's 5rem side padding would take 160 px of a 1024 px screen. */
@media (max-width: 1400px) {
  [data-testid="stMainBlockContainer"] { padding-left: 2rem; padding-right: 2rem; padding-top: 3rem; }
}
/* The sidebar holds short page names: 300 px of an 800-1100 px screen is more than they need. */
@media (max-width: 1100px) {
  [data-testid="stSidebar"][data-collapsed="false"] { width: 210px !important; min-width: 210px !important; }
}
@media (max-width: 900px) {
  [data-testid="stMainBlockContainer"] { padding-left: 1rem; padding-right: 1rem; }
}
"""

_PRESENTER = """
/* Presenter mode: everything larger for a projector (Streamlit sizes text in rem). */
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; }
h1 { font-size: 2.2rem !important; }
"""


def css(current: Flags) -> str:
    """The style block for these flags: the base rules, presenter mode's, and the hidden controls."""
    rules = _BASE
    if current.present:
        rules += _PRESENTER
    hidden = hidden_selectors(current)
    if hidden:
        rules += ",\n".join(hidden) + " { display: none !important; }\n"
    return rules


def apply(current: Flags) -> None:
    """Add the style block to the page (no visible element; called once per run by ``app.py``)."""
    st.html(f"<style>{css(current)}</style>")
