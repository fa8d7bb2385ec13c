"""Shared fixtures: small datasets and configs that train in a fraction of a second."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Every run the dashboard records goes to a throwaway data folder: a test run never leaves .mtl-playground/ in
# the checkout, nor writes into a developer's own store (MTL_DB_URL). Tests that need a store of their own set
# MTL_DATA_DIR or MTL_DB_URL themselves (monkeypatch). Servers the e2e tests start inherit this environment.
_DATA_DIR = tempfile.mkdtemp(prefix="mtl-test-data-")
os.environ["MTL_DATA_DIR"] = _DATA_DIR
os.environ.pop("MTL_DB_URL", None)
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group tests for pytest-xdist (``--dist loadgroup``): by file, and every end-to-end file in one group, first."""
    for item in items:
        group = "e2e" if item.get_closest_marker("e2e") else item.path.stem
        item.add_marker(pytest.mark.xdist_group(group))
    # The end-to-end group is the longest: started first, it runs alongside the rest instead of after it. (The
    # relatedness study started beside it too made four browser tests time out.)
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


# Niceness a test process takes on at its first test that is not end-to-end (pytest-xdist workers only).
YIELDING_NICE = 5
_yielded = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)  # before the fixtures are set up: a module's pool inherits the new priority
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under xdist, a process running other tests yields the two cores to the one running the browser tests.

    The end-to-end group's server, Chromium and the server's training workers wait on each other against the
    clock; the rest only take longer. (Lowering the e2e servers' workers instead made a run's compile take a
    minute behind the other process's tests; niceness only goes up, so a process never returns to 0.)
    """
    if (os.environ.get("PYTEST_XDIST_WORKER") and not item.get_closest_marker("e2e")
            and not item.config.stash.get(_yielded, False)):
        item.config.stash[_yielded] = True
        os.nice(YIELDING_NICE)


def _read_as_shown() -> None:
    """AppTest reports a message's Markdown source; the tests read what a browser shows instead.

    Pages show text from data and links through ``ui.plain.plain``, which backslash-escapes its Markdown
    characters (``[`` becomes ``\\[``); a browser shows ``[``. So a test compares the core's message with what
    the user reads, and ``.proto.body`` still holds the source (tests of the escaping read that).
    """
    from streamlit.testing.v1 import element_tree

    from ui.plain import as_read

    for cls in (element_tree.AlertBase, element_tree.Markdown, element_tree.Metric):
        cls.value = property(lambda self: as_read(self.proto.body))


_read_as_shown()


@pytest.fixture(scope="session")
def iris_frame():
    """The Iris DataFrame."""
    from mtl_core.data.registry import load_dataset

    return load_dataset("iris").frame


@pytest.fixture()
def hetero_config():
    """The heterogeneous Iris config (species + petal width), short."""
    from mtl_core.config import TaskSpec, TrainConfig

    return TrainConfig(dataset="iris", tasks=[TaskSpec("species"), TaskSpec("petal_width")],
                       inputs=["sepal_length", "sepal_width", "petal_length"], shared=[10, 10], head=[],
                       epochs=20, seed=3)
