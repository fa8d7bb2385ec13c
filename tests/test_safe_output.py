"""Safe output: CSV exports never hold a live formula, and text from data or links shows as plain text."""

from __future__ import annotations

import csv
import io

import plotly.graph_objects as go
import pytest

from mtl_core.io.safe_csv import csv_bytes, safe_cell
from ui import exports
from ui.plain import as_read, code, html_text, md, plain, plain_figure

HOSTILE = ["[x](http://e)", "![i](http://e)", "<a href=x>y</a>", "$$x$$", "=cmd|' /C calc'!A0",
           "+HYPERLINK(\"http://e\")", "@SUM(A1)", "-2+3", "\tTAB", "\rCR", ":red[x]", "www.e.com", "**b**"]


def _cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize("text", [t for t in HOSTILE if t[0] in "=+-@\t\r"])
def test_a_formula_cell_is_quoted_and_reads_back_as_text(text):
    assert safe_cell(text) == "'" + text
    rows = _cells(csv_bytes(["task", text], [{"task": text, text: 1.5}]))
    assert rows[0] == ["task", "'" + text] and rows[1] == ["'" + text, "1.5"]


def test_numbers_stay_numbers_and_non_finite_ones_are_empty():
    rows = _cells(csv_bytes(["a", "b", "c", "d"], [[-1.5, "-3", float("nan"), 7]]))
    assert rows[1] == ["-1.5", "-3", "", "7"]


def test_the_test_metrics_export_neutralises_task_and_metric_names():
    data = exports.test_metrics_csv({"=cmd|' /C calc'!A0": {"accuracy": 0.5}, "@evil": {"+rmse": 1.25}})
    rows = _cells(data)
    assert rows[1] == ["'=cmd|' /C calc'!A0", "accuracy", "0.5"]
    assert rows[2] == ["'@evil", "'+rmse", "1.25"]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_leaves_no_markdown_trigger_unescaped(text):
    shown = plain(text)
    # Every character that starts Markdown, HTML, math, a directive or an autolink is preceded by a backslash.
    for i, char in enumerate(shown):
        if char in "[]<>!$*:=|@`#~":
            assert i > 0 and shown[i - 1] == "\\", (text, shown)
    # Read as a browser shows it, the text is back: nothing was lost (leading blanks aside).
    assert as_read(shown) == text.lstrip(" \t")
    # A literal autolink (GFM ignores escapes there) is broken by an invisible word joiner.
    unescaped = shown.replace("\\", "")
    for trigger in ("http:", "www."):
        assert trigger not in unescaped
    assert unescaped.count("@") == unescaped.count("@\u2060")


def test_plain_keeps_ordinary_names_as_they_are():
    for name in ("petal_width", "body_mass_g", "sub-task", "3.14", "area (m2)", "species"):
        assert plain(name) == name


def test_md_fills_a_trusted_template_with_plain_values():
    assert md("**{}**: confusion matrix", "[x](http://e)") == "**\\[x\\](http\u2060\\://e)**: confusion matrix"
    assert code("a`b") == "`` a`b ``" and code("x") == "`x`"


def test_figures_escape_names_categories_titles_and_annotations():
    link = "<a href=x>y</a>"
    fig = go.Figure(go.Heatmap(z=[[1, 2], [3, 4]], x=[link, "b"], y=[link, "b"]))
    fig.add_trace(go.Scatter(x=[1, 2], y=[3, 4], name=link))
    fig.update_layout(title=link, xaxis_title=f"true {link}")
    fig.add_annotation(x=link, y="b", text=link)
    plain_figure(fig)
    escaped = html_text(link)
    assert escaped == "&lt;a href=x&gt;y&lt;/a&gt;"
    assert list(fig.data[0].x) == [escaped, "b"] and fig.data[1].name == escaped
    assert fig.layout.title.text == escaped and fig.layout.xaxis.title.text == f"true {escaped}"
    assert fig.layout.annotations[0].text == escaped and fig.layout.annotations[0].x == escaped
    assert list(fig.data[1].x) == [1, 2]  # numbers untouched


def test_the_chart_builders_escape_task_and_class_names():
    import numpy as np

    from ui.charts import confusion_figure, scatter_figure

    link = "<a href=x>y</a>"
    fig = confusion_figure([link, "b"], np.array([0, 1]), np.array([0, 0]))
    assert "<a" not in str(fig.data[0].x) and "&lt;a" in str(fig.data[0].x)
    fig = scatter_figure(link, np.array([1.0, 2.0]), np.array([1.5, 2.5]))
    assert fig.data[1].name == html_text(link) and "<a" not in fig.layout.xaxis.title.text


def test_escaping_for_plotly_twice_is_escaping_once():
    link = "<a href=x>y</a> R&D"
    once = html_text(link)
    assert once == "&lt;a href=x&gt;y&lt;/a&gt; R&amp;D" and html_text(once) == once
    fig = plain_figure(go.Figure(go.Scatter(x=[1], y=[1], name=once)))
    assert fig.data[0].name == once
