"""AppTest tests of Train's play controls: Play, Pause, Step, Stop, Reset, continuous, speed, the epoch counter.

One session plays one run through every state (fresh, stepped, playing, paused, stopped, reset), so the
module traces one model for the lot; a second session checks the watchable defaults of a fresh session.
"""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import apply_preset, config_of, has_run, new_app, training, wait
from ui.state import SPEEDS, LiveSettings


def counter(at: AppTest) -> list[str]:
    """The epoch counter's text (markdown "**Epoch N**")."""
    return [m.value.strip("*") for m in at.markdown if m.value.startswith("**Epoch ")]


def buttons(at: AppTest) -> dict[str, bool]:
    """Which play buttons are enabled."""
    keys = ("play_button", "pause_button", "step_button", "stop_button", "reset_button")
    return {k.removesuffix("_button"): not at.button(key=k).disabled for k in keys}


def idle(at: AppTest, epoch: int | None = None, timeout: float = 120) -> None:
    """Wait until the paused run reached ``epoch`` (None: until its count holds still), then redraw the page.

    The run may live in a worker process (its epochs arrive as messages), so this watches the count it shows.
    """
    run = training(at).run
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        now = run.epoch
        if (now == epoch) if epoch is not None else (now == last):
            break
        last = now
        time.sleep(0.05 if epoch is not None else 0.5)
    assert epoch is None or run.epoch == epoch, (run.epoch, epoch)
    at.run()
    assert not at.exception, at.exception


@pytest.fixture(scope="module")
def at() -> AppTest:
    """The heterogeneous preset, 4 epochs, on Train, nothing run yet."""
    at = apply_preset(new_app(), "heterogeneous")
    config_of(at).epochs = 4
    at.switch_page("pages/train.py").run()
    assert not at.exception
    return at


def test_a_fresh_page_offers_play_and_step_with_watchable_defaults(at):
    assert not has_run(at)
    assert buttons(at) == {"play": True, "pause": False, "step": True, "stop": False, "reset": False}
    assert any("Press **Play** to start" in i.value for i in at.info)
    defaults = LiveSettings()
    assert at.toggle(key="continuous").value is defaults.continuous is True
    assert at.button_group(key="speed").value == defaults.speed
    assert 1 < SPEEDS[defaults.speed] <= 20  # moderate: a class can follow it
    assert list(SPEEDS) == ["1", "10", "100", "max"]


def test_step_from_a_fresh_start_trains_exactly_one_epoch_then_a_second(at):
    at.button(key="step_button").click().run()
    assert not at.exception and has_run(at)
    run = training(at).run
    idle(at, 1)
    assert run.epoch == 1 and len(run.events()) == 1 and run.paused and run.running
    assert counter(at) == ["Epoch 1"]
    assert buttons(at) == {"play": True, "pause": False, "step": True, "stop": True, "reset": True}
    at.button(key="step_button").click().run()
    idle(at, 2)
    assert run.epoch == 2 and counter(at) == ["Epoch 2"]
    assert run.continuous and run.speed == SPEEDS["10"]  # the session's play settings went to the run


def test_loss_weight_sliders_work_while_paused(at):
    run = training(at).run
    at.slider(key=f"train.lw{training(at).token}:petal_width").set_value(2.5).run()
    assert not at.exception and not at.slider(key=f"train.lw{training(at).token}:petal_width").disabled
    at.button(key="step_button").click().run()
    idle(at, 3)
    assert run.epoch == 3 and run.events()[-1].weights["petal_width"] == 2.5
    assert config_of(at).loss_weights["petal_width"] == 2.5


def test_predict_uses_the_paused_runs_weights(at):
    run = training(at).run
    at.switch_page("pages/predict.py").run()
    assert not at.exception
    assert not any(i.value.startswith("Train a model first") for i in at.info)
    assert at.metric or at.get("progress")  # predictions of the paused model
    assert run.paused and run.epoch == 3
    at.switch_page("pages/train.py").run()
    assert counter(at) == ["Epoch 3"]


def test_speed_and_continuous_apply_to_the_run_then_play_pause_and_resume(at):
    run = training(at).run
    at.button_group(key="speed").set_value("max").run()
    assert run.speed is None
    at.toggle(key="continuous").set_value(False).run()
    assert not run.continuous
    at.toggle(key="continuous").set_value(True).run()
    assert run.continuous
    at.button(key="play_button").click().run()
    assert not at.exception and not run.paused
    assert buttons(at)["pause"] and not buttons(at)["play"]
    at.button(key="pause_button").click().run()
    idle(at)
    paused_at = run.epoch
    assert run.paused and paused_at >= 3
    assert counter(at) == [f"Epoch {paused_at}"]
    assert buttons(at)["play"] and not buttons(at)["pause"]
    at.button(key="play_button").click().run()  # resumes the same run
    assert training(at).run is run and not run.paused
    at.button(key="pause_button").click().run()
    idle(at)
    assert run.epoch >= paused_at
    assert [e.epoch for e in run.events()] == list(range(1, run.epoch + 1))


def test_stop_ends_the_run_with_its_results_and_reset_forgets_it(at):
    run = training(at).run
    at.button(key="stop_button").click().run()
    assert wait(run, 60)
    at.run()
    assert run.result.stopped_reason == "stopped" and run.result.epochs_run == run.epoch
    assert any(i.value.startswith("Stopped by request after epoch") for i in at.info)
    assert counter(at) == [f"Epoch {run.epoch}"]
    assert buttons(at) == {"play": True, "pause": False, "step": True, "stop": False, "reset": True}
    at.button(key="reset_button").click().run()
    assert not has_run(at) and counter(at) == []
