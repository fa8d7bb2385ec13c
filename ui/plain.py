"""Text from data or links shown as plain text: no Markdown, link, image, math or HTML from a column name, a
class label, a file name or a URL value, in messages, captions, widget labels and charts.

Streamlit renders Markdown (with ``:red[...]`` colours, ``:material/...:`` icons, emoji shortcodes and ``$...$``
math) in messages, captions and widget labels; plotly renders a subset of HTML (``<a href>``, ``<b>``, ``<br>``)
in legends, tick labels, titles and hover labels. So every piece of user text goes through ``plain`` (Markdown)
or ``html_text`` (plotly) on its way to the page, and figures through ``plain_figure``.
"""

from __future__ import annotations

import re
from typing import Any

# CommonMark lets a backslash escape any ASCII punctuation, which then shows as itself. Escaped: every
# character that starts Markdown, HTML, an entity, a Streamlit directive (``:red[``), math (``$``) or an
# autolink (``http:``, ``www.``, ``a@b``). Left as they are, because nothing starts with them once brackets
# are escaped: , ; ' " % ? / ( ) ^, and _ - between two letters or digits (``petal_width``, ``sub-task``:
# intraword, never emphasis or a list) and . between two digits (``3.14``).
_ACTIVE = re.compile(r"(?<![A-Za-z0-9])[_-]|[_-](?![A-Za-z0-9])|(?<![0-9])\.|\.(?![0-9])|[\\`*{}\[\]<>#+=!|~$:&@]")
# Line starts that Markdown reads as structure even when escaped characters follow (indented code).
_LEADING_SPACE = re.compile(r"^[ \t]+", re.MULTILINE)
# GFM's literal autolinks (http://…, www.…, a@b.c) ignore backslash escapes: an invisible word joiner
# (U+2060) inside the trigger breaks them and shows nothing.
JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?<=https)(?=:)|(?<=http)(?=:)|(?<=ftp)(?=:)|(?<=mailto)(?=:)|(?<=xmpp)(?=:)|"
                       r"(?<=\bw)(?=ww\.)|(?<=@)")


def plain(text: object) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it exactly as written."""
    text = _AUTOLINK.sub(JOINER, str(text))
    return _LEADING_SPACE.sub("", _ACTIVE.sub(lambda m: "\\" + m.group(0), text))


def md(template: str, *values: object, **named: object) -> str:
    """A Markdown ``template`` (ours, trusted) filled with ``values`` shown as plain text: ``md("**{}**", task)``."""
    return template.format(*(plain(v) for v in values), **{k: plain(v) for k, v in named.items()})


# An ``&`` that starts an entity is left alone, so escaping twice (a builder's html_text, then plain_figure)
# changes nothing: plotly shows ``&lt;`` as ``<``, and no tag can form since every ``<`` and ``>`` is escaped.
_BARE_AMPERSAND = re.compile(r"&(?!(?:[A-Za-z]+|#[0-9]+|#[xX][0-9A-Fa-f]+);)")


def html_text(text: object) -> str:
    """``text`` escaped for plotly's HTML-like labels (legends, ticks, titles, hover text); escaping twice is
    the same as once."""
    return _BARE_AMPERSAND.sub("&amp;", str(text)).replace("<", "&lt;").replace(">", "&gt;")


def _escape_strings(values: Any) -> Any:
    if values is None or isinstance(values, (int, float)):
        return values
    if isinstance(values, str):
        return html_text(values)
    try:
        items = list(values)
    except TypeError:
        return values
    if not any(isinstance(v, str) for v in items):
        return values
    return [html_text(v) if isinstance(v, str) else v for v in items]


def _axis_objects(layout: Any) -> list[Any]:
    names = [name for name in layout.to_plotly_json() if re.fullmatch(r"[xy]axis\d*", name)]
    return [layout[name] for name in names] + [layout.scene.xaxis, layout.scene.yaxis, layout.scene.zaxis]


def plain_figure(fig: Any) -> Any:
    """Escape, in place, the text a plotly figure draws from its data: trace names, category values, titles,
    tick texts and annotations. Returns ``fig``.

    Hover texts a chart builds itself with HTML (``text=``/``hovertext=``/``customdata``) are left alone: their
    builder escapes the user's parts with ``html_text``.
    """
    for trace in fig.data:
        for attr in ("name", "x", "y", "z", "labels", "legendgrouptitle"):
            if attr not in trace or trace[attr] is None:
                continue
            if attr == "legendgrouptitle":
                if trace.legendgrouptitle.text:
                    trace.legendgrouptitle.text = html_text(trace.legendgrouptitle.text)
                continue
            value = trace[attr]
            if attr == "z" and not isinstance(value, str):
                continue  # numbers (a heatmap's counts)
            trace[attr] = _escape_strings(value)
        for dim in getattr(trace, "dimensions", None) or ():  # parallel coordinates, splom
            if dim.label:
                dim.label = html_text(dim.label)
    layout = fig.layout
    if layout.title.text:
        layout.title.text = html_text(layout.title.text)
    if layout.legend.title.text:
        layout.legend.title.text = html_text(layout.legend.title.text)
    for axis in _axis_objects(layout):
        if axis.title.text:
            axis.title.text = html_text(axis.title.text)
        if axis.ticktext is not None:
            axis.ticktext = _escape_strings(axis.ticktext)
        if axis.categoryarray is not None:
            axis.categoryarray = _escape_strings(axis.categoryarray)
    for note in layout.annotations:
        if note.text:
            note.text = html_text(note.text)
        for attr in ("x", "y"):
            if isinstance(note[attr], str):
                note[attr] = html_text(note[attr])
    return fig


def code(text: object) -> str:
    """``text`` as an inline code span (shown verbatim): fenced by more backticks than it holds in a row."""
    text = str(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def as_read(markdown: str) -> str:
    """The text a reader sees for Markdown without other markup: its backslash escapes resolved (``\\[`` is ``[``)."""
    return _ESCAPE.sub(r"\1", markdown).replace(JOINER, "")
