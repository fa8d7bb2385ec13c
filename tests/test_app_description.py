"""The light pages (/, /data, /model) render from the core's TF-free description: strategies' parameters and
the model's shape, without TensorFlow ever being imported (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")

# Runs in a fresh interpreter: in the test process another test may have imported TensorFlow already.
_SCRIPT = """
import json, sys
from streamlit.testing.v1 import AppTest

at = AppTest.from_file({app!r}, default_timeout=90)
at.query_params.update({query!r})
at.run()
assert not at.exception, at.exception
at.switch_page("pages/data.py").run()
assert not at.exception, at.exception
at.switch_page("pages/model.py").run()
assert not at.exception, at.exception
print(json.dumps({{
    "loaded": sorted(m for m in ("tensorflow", "keras") if m in sys.modules),
    "inputs": {{n.key: n.value for n in at.number_input if n.key and n.key.startswith("wp:")}},
    "numbers": sorted(n.key for n in at.number_input if n.key),
    "sliders": {{s.key: s.disabled for s in at.slider if s.key and s.key.startswith("lw:")}},
    "dot": [c.proto.spec for c in at.get("graphviz_chart")],
    "success": [s.value for s in at.success],
    "captions": [c.value for c in at.caption],
}}))
"""


def render_light_pages(query: dict[str, str]) -> dict:
    """Open /, then /data, then /model (first render) with ``query`` as the link; what the pages showed."""
    code = _SCRIPT.format(app=APP, query=query)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_model_page_shows_gradnorm_parameters_on_first_render_without_tensorflow():
    shown = render_light_pages({"ds": "iris", "t": "species,petal_width", "wt": "gradnorm", "wp.alpha": "2.5"})
    assert shown["loaded"] == []
    # Every parameter the registry declares, the link's value where it set one and the default elsewhere.
    assert shown["inputs"] == {"wp:gradnorm:alpha": 2.5, "wp:gradnorm:lr": 0.025}
    # GradNorm sets the weights itself: the loss-weight sliders are off, and the page says why.
    assert shown["sliders"] and all(shown["sliders"].values())
    assert any("sets the loss weights itself" in c for c in shown["captions"])
    assert shown["success"] == ["These settings are valid."]
    # The diagram's input width comes from the core's model_shape: iris's four measurements less the target.
    assert "3 input features" in shown["dot"][0] and "3 classes (softmax)" in shown["dot"][0]
    # The registry says which architecture settings to show: hard sharing's trunk, not MMoE's experts.
    assert "shared.0" in shown["numbers"] and "experts" not in shown["numbers"]


def test_mmoe_diagram_is_drawn_from_the_core_shape_without_tensorflow():
    shown = render_light_pages({"ds": "penguins", "t": "species,body_mass_g", "a": "mmoe", "ex": "8", "eu": "5",
                                "wt": "fixed"})
    assert shown["loaded"] == []
    dot = shown["dot"][0]
    assert "8 shared experts, 5 units each" in dot
    assert "gate of species" in dot and "gate of body_mass_g" in dot and "… 3 more" in dot
    assert shown["inputs"] == {}  # fixed weights take no parameters
    assert {"experts", "expert_units"} <= set(shown["numbers"]) and "shared.0" not in shown["numbers"]
    assert shown["sliders"] and not any(shown["sliders"].values())
