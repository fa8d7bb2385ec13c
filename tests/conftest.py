"""Shared fixtures: small datasets and configs that train in a fraction of a second."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
