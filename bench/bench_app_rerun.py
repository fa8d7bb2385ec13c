"""Rerun time of a dashboard page with TensorFlow loaded: Streamlit's post-run cleanup vs ``ui.speed``'s.

Run from the repo root: ``python bench/bench_app_rerun.py``. Prints the median rerun time of the home
page (a trained model in session state) for each combination of the clear_session patch and
``runner.postScriptGC``, and the ratio against Streamlit's defaults measured in the same run.
"""

from __future__ import annotations

import argparse

from _common import ROOT, median_ms
from streamlit import config
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from ui import speed

RERUNS = 15


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    original = script_runner._clean_problem_modules
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.button(key="preset_heterogeneous").click().run()
    at.session_state["mtl.config"].epochs = 5
    at.switch_page("pages/train.py").run()
    at.toggle(key="continuous").set_value(False)  # the configured 5 epochs, as fast as it trains
    at.button_group(key="speed").set_value("max")
    at.button(key="play_button").click().run()
    at.session_state["mtl.run"].run.join(120)
    at.switch_page("pages/home.py").run()
    results = {}
    for patched in (False, True):
        for gc_on in (True, False):
            script_runner._clean_problem_modules = (speed._clean_problem_modules_without_keras if patched
                                                    else original)
            config.set_option("runner.postScriptGC", gc_on)
            results[(patched, gc_on)] = median_ms(at.run, RERUNS) / 1000
    base = results[(False, True)]
    for (patched, gc_on), seconds in results.items():
        label = f"clear_session {'skipped' if patched else 'called '}, postScriptGC {'on ' if gc_on else 'off'}"
        print(f"{label}: {seconds * 1000:7.1f} ms per rerun ({seconds / base:.2f}x Streamlit's default)")


if __name__ == "__main__":
    main()
