"""The AppTest tests' shared helpers: open the app or a page, apply a preset, train and wait, read the session.

The session keys come from ``ui.state``, so the tests read the session the way the app writes it. Waiting for
a run or a job goes through ``wait`` only: the one place to change if the job API changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamlit.testing.v1 import AppTest

from ui.state import CONFIG_KEY, RUN_KEY, SCRATCH_KEY

if TYPE_CHECKING:
    from mtl_core.config import TrainConfig
    from ui.state import TrainingSession

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def app(timeout: float = 90) -> AppTest:
    """A fresh session of the dashboard, not run yet."""
    return AppTest.from_file(APP, default_timeout=timeout)


def new_app(page: str | None = None, query: dict | None = None, timeout: float = 90) -> AppTest:
    """A session run once (``query`` as the URL's parameters), then switched to ``page``; no exception."""
    at = app(timeout)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def apply_preset(at: AppTest, name: str) -> AppTest:
    """Press a preset's button on Home."""
    at.button(key=f"preset_{name}").click().run()
    assert not at.exception, at.exception
    return at


def open_page(page: str, preset: str = "heterogeneous") -> AppTest:
    """A session with a preset applied on Home, switched to ``page``."""
    at = apply_preset(new_app(), preset)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def config_of(at: AppTest) -> TrainConfig:
    """The session's config (edits to it are what the pages show on the next run)."""
    return at.session_state[CONFIG_KEY]


def training(at: AppTest) -> TrainingSession:
    """The session's training run with its data."""
    return at.session_state[RUN_KEY]


def has_run(at: AppTest) -> bool:
    """True if the session has a training run."""
    return RUN_KEY in at.session_state


def job(at: AppTest, name: str) -> Any:
    """The session's other job called ``name`` (``compare``, ``relatedness``)."""
    return at.session_state[SCRATCH_KEY]["jobs"][name]


def errors(at: AppTest) -> list[str]:
    """The texts of the page's error boxes."""
    return [e.value for e in at.error]


def upload(at: AppTest, key: str, name: str, data: bytes) -> AppTest:
    """Put a file in the uploader ``key``."""
    at.file_uploader(key=key).set_value((name, data, "text/csv")).run()
    assert not at.exception, at.exception
    return at


def wait(run_or_job: Any, timeout: float = 90) -> bool:
    """Wait for a training run or another job to end; True if it did in time."""
    return run_or_job.join(timeout)


def wait_for_run(at: AppTest, timeout: float = 90) -> bool:
    """Wait for the session's training run to end; True if it did in time."""
    return wait(training(at).run, timeout)


def run_to_the_end(at: AppTest) -> AppTest:
    """Set the Train page's play controls to a run of the configured epochs at full speed (not run yet)."""
    at.toggle(key="continuous").set_value(False)
    at.button_group(key="speed").set_value("max")
    return at


def press_train(at: AppTest) -> AppTest:
    """Press Play on the Train page for a run of the configured epochs at full speed (not the page's watchable
    default, continuous at a moderate speed); the run starts without an exception or an error."""
    run_to_the_end(at).button(key="play_button").click().run()
    assert not at.exception, at.exception
    assert not errors(at), errors(at)
    return at


def train(at: AppTest, timeout: float = 90) -> AppTest:
    """Go to Train, press Train, wait for the run to end and rerun to see the results."""
    at.switch_page("pages/train.py").run()
    press_train(at)
    assert wait_for_run(at, timeout)
    at.run()  # AppTest cannot fire the fragment's timer: rerun to see the end
    assert not at.exception, at.exception
    return at
