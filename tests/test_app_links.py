"""Links that keep working: a bad link keeps its address and opens the nearest valid setup; classroom flags
(presenter mode, hide, only) hide what they name and stay in the URL and in share links; every page starts
through app.py (ui/entry.py), also when Streamlit's legacy pages/ mode started it."""

from __future__ import annotations

import ast
import re

import pytest

from mtl_core.config import TrainConfig
from mtl_core.data.registry import DATASETS
from mtl_core.errors import MTLError
from mtl_core.presets import PRESETS
from tests.apptest import ROOT, config_of, errors, new_app
from ui import classroom, layout, share
from ui.state import NOTEBOOK_KEY

DEFAULT = PRESETS["heterogeneous"].make_config()


def _errors(at) -> list[str]:
    # The messages as the user reads them (link values are escaped so Markdown shows them as written).
    return [re.sub(r"\\(.)", r"\1", e) for e in errors(at)]


def _url(at) -> dict:
    return {k: v for k, v in at.query_params.items() if k != share.NOTEBOOK}


def _style(at) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


@pytest.mark.parametrize(("query", "message", "check"), [
    ({"ds": "penguins", "t": "species", "ep": "abc", "lr": "0.02"}, "link parameter 'ep'='abc' is invalid",
     lambda c: (c.dataset, c.lr, c.epochs) == ("penguins", 0.02, TrainConfig().epochs)),
    ({"ds": "nope", "t": "x", "lr": "0.02"}, "dataset='nope' is invalid: expected one of",
     lambda c: (c.dataset, c.task_names, c.lr) == (DEFAULT.dataset, DEFAULT.task_names, 0.02)),
    ({"ds": "iris", "t": "colour", "seed": "5"}, "task='colour' is invalid: no such column",
     lambda c: (c.task_names, c.seed) == (list(DATASETS["iris"].suggested_tasks), 5)),
    ({"ds": "iris", "t": "species", "lr": "0", "zz": "1"}, "lr=0.0 is invalid",
     lambda c: (c.task_names, c.lr) == (["species"], TrainConfig().lr)),
    ({"ds": "relatedness", "t": "y1", "d.p": "7"}, "dataset_param 'p'=7.0 is invalid",
     lambda c: (c.dataset, c.task_names, "p" in c.dataset_params) == ("relatedness", ["y1"], False)),
])
def test_a_bad_link_keeps_its_url_names_the_value_and_opens_the_nearest_setup(query, message, check):
    at = new_app(query=query)
    assert len(at.error) == 1 and message in _errors(at)[0], errors(at)
    assert _errors(at)[0].startswith("Part of this link can't be used")
    assert check(config_of(at)), config_of(at)
    assert _url(at) == query
    # Switching page keeps the address as the user gave it.
    at.switch_page("pages/model.py").run()
    assert _url(at) == query and any(message in e for e in _errors(at))
    # The first change of a setting ends that: the message goes and the URL follows the setup again.
    at.switch_page("pages/home.py").run()
    at.button(key="preset_seed").click().run()
    assert not at.error
    assert at.query_params == {**share.config_to_params(config_of(at)), share.NOTEBOOK: at.session_state[NOTEBOOK_KEY]}


def test_a_link_whose_error_names_no_link_parameter_falls_back_to_the_default(monkeypatch):
    assert share.nearest_link({"ds": "nope", "t": "x"})[0].dataset == DEFAULT.dataset
    query = {"ds": "iris", "t": "species", "ep": "50"}

    def refuse(params):
        raise MTLError("this server refuses it.", param="MTL_SOMETHING", value=1)

    monkeypatch.setattr(share, "restore_link", refuse)
    at = new_app(query=query)
    assert len(at.error) == 1, errors(at)
    assert _errors(at)[0].startswith("This link's setup can't be used, so the default")
    assert config_of(at).to_dict() == DEFAULT.to_dict()
    assert _url(at) == query


def test_flags_read_from_the_url():
    f = classroom.parse({"only": "weights,play", "hide": "data,model"})
    assert f.controls == set(classroom.CONTROLS) - {"weights", "play"}
    assert f.pages == {"data", "model"}
    f = classroom.parse({"only": "train,predict,weights"})
    assert f.pages == set(classroom.PAGES) - {"train", "predict"}
    assert "weights" not in f.controls and "layers" in f.controls
    f = classroom.parse({"present": "1"})
    assert f.present and f.controls == set(classroom.PRESENTER_HIDES) and not f.pages
    assert classroom.parse({}) == classroom.Flags()
    assert classroom.parse(f.params()) == f
    with pytest.raises(MTLError) as err:
        classroom.parse({"hide": "data,lasers"})
    assert err.value.param == "link parameter 'hide'" and err.value.value == "lasers"
    with pytest.raises(MTLError):
        classroom.parse({"present": "maybe"})


def test_the_style_hides_the_named_controls_and_links_to_hidden_pages():
    css = layout.css(classroom.parse({"hide": "layers,tune", "present": "1"}))
    assert '[class*="st-key-sizes_"] [data-testid="stNumberInputStepDown"]' in css  # the base rules
    hidden = css[css.index("display: none !important") - 400:]
    assert '[class*="st-key-sizes_"]' in hidden and ".st-key-compare_panel" in hidden
    assert 'a[href$="/tune"]' in hidden and "html { font-size: 20px; }" in css
    assert "st-key-lw-" not in css
    assert "display: none !important" not in layout.css(classroom.Flags())


def test_a_classroom_link_hides_what_it_names_and_keeps_its_flags_on_every_page_and_in_share_links():
    query = {"ds": "penguins", "t": "species,sex", "only": "weights,play", "hide": "data,relatedness"}
    at = new_app(query=query)
    assert not at.error and not at.warning
    assert config_of(at).dataset == "penguins"
    style = _style(at)
    for name in set(classroom.CONTROLS) - {"weights", "play"}:
        assert all(classroom._selector(key) in style for key in classroom.CONTROLS[name]), name
    assert 'st-key-lw-' not in style and 'a[href$="/data"]' in style
    at.switch_page("pages/model.py").run()
    assert {"only": "weights,play", "hide": "data,relatedness"}.items() <= at.query_params.items()
    code = at.code[0].value
    assert "only=weights,play" in code and "hide=data,relatedness" in code and "ds=penguins" in code
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert at.query_params["only"] == "weights,play"


def test_a_bad_flag_is_named_and_kept_in_the_url():
    at = new_app(query={"ds": "iris", "t": "species", "hide": "lasers"})
    warnings = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]
    assert any("'lasers'" in w and "hide" in w for w in warnings), warnings
    assert at.query_params["hide"] == "lasers" and config_of(at).task_names == ["species"]


def test_every_page_starts_through_app_py():
    # A page without this call would open in Streamlit's file-name mode when it is a fresh server's first link.
    for path in sorted((ROOT / "pages").glob("*.py")):
        calls = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)
                 and ast.unparse(n.func) == "entry.through_app"]
        assert calls, f"{path.name} does not call entry.through_app()"
