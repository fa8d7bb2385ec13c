"""Tests for the dataset registry, the missing-value policy and the relatedness generator."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mtl_core.data.generators.relatedness import generate_relatedness
from mtl_core.data.registry import (
    DATASETS,
    Dataset,
    DatasetSpec,
    ParamSpec,
    dataset_names,
    drop_missing,
    get_spec,
    load_dataset,
)
from mtl_core.errors import DataError

EXPECTED = {
    "iris": (
        150,
        ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"],
    ),
    "penguins": (
        333,
        [
            "species",
            "island",
            "bill_length_mm",
            "bill_depth_mm",
            "flipper_length_mm",
            "body_mass_g",
            "sex",
            "year",
        ],
    ),
    "linnerud": (20, ["Chins", "Situps", "Jumps", "Weight", "Waist", "Pulse"]),
    "diabetes": (
        442,
        ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "progression"],
    ),
    "relatedness": (4000, [f"x{i}" for i in range(16)] + ["y1", "y2"]),
}


def test_registry_keys_and_specs() -> None:
    expected = [
        "iris",
        "penguins",
        "wine",
        "linnerud",
        "diabetes",
        "breast_cancer",
        "relatedness",
        "plane",
    ]
    assert dataset_names() == expected
    for key, spec in DATASETS.items():
        assert isinstance(spec, DatasetSpec)
        assert spec.name == key
        assert spec.title and spec.description and spec.suggested_tasks
        assert callable(spec.loader)


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_is_clean(name: str) -> None:
    dataset = load_dataset(name)
    frame = dataset.frame
    assert isinstance(dataset, Dataset)
    assert dataset.name == name
    assert not frame.isna().any().any()
    assert isinstance(frame.index, pd.RangeIndex)
    assert frame.index.start == 0 and frame.index.step == 1
    assert frame.columns.is_unique
    assert dataset.suggested_tasks == DATASETS[name].suggested_tasks
    assert set(dataset.suggested_tasks) <= set(frame.columns)
    assert dataset.rows_dropped == (11 if name == "penguins" else 0)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_exact_columns_and_rows(name: str) -> None:
    rows, columns = EXPECTED[name]
    frame = load_dataset(name).frame
    assert list(frame.columns) == columns
    assert len(frame) == rows


def test_class_columns_hold_readable_labels() -> None:
    iris = load_dataset("iris").frame
    assert sorted(iris["species"].unique()) == ["setosa", "versicolor", "virginica"]
    assert (iris["species"].value_counts() == 50).all()

    wine = load_dataset("wine").frame
    assert wine.shape == (178, 14)
    assert wine.columns[-1] == "cultivar"
    assert {"alcohol", "od280/od315_of_diluted_wines", "proline"} <= set(wine.columns)
    assert sorted(wine["cultivar"].unique()) == ["class_0", "class_1", "class_2"]

    cancer = load_dataset("breast_cancer").frame
    assert cancer.shape == (569, 31)
    assert "mean radius" in cancer.columns
    assert cancer["diagnosis"].value_counts().to_dict() == {
        "benign": 357,
        "malignant": 212,
    }


def test_penguins_drops_and_reports_missing_rows() -> None:
    dataset = load_dataset("penguins")
    assert len(dataset.frame) == 333
    assert dataset.rows_dropped == 11
    assert len(dataset.notes) == 1
    note = dataset.notes[0]
    assert note.startswith("Dropped 11 of 344 rows with missing values (sex: 11,")
    for column in (
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
    ):
        assert f"{column}: 2" in note
    assert set(dataset.frame["sex"]) == {"male", "female"}


def test_returned_copies_are_independent() -> None:
    first = load_dataset("iris")
    first.frame.loc[0, "sepal_length"] = -999.0
    first.frame["extra"] = 1
    first.notes.append("mutated")
    first.info["mutated"] = True
    second = load_dataset("iris")
    assert second.frame.loc[0, "sepal_length"] != -999.0
    assert "extra" not in second.frame.columns
    assert "mutated" not in second.notes
    assert "mutated" not in second.info
    assert second.frame is not first.frame

    rel = load_dataset("relatedness", {"n": 50})
    rel.info["measured_correlation"] = 5.0
    rel.frame["y1"] = 0.0
    again = load_dataset("relatedness", {"n": 50})
    assert again.info["measured_correlation"] != 5.0
    assert again.frame["y1"].std() > 0


def test_get_spec_unknown_name_lists_valid_names() -> None:
    with pytest.raises(DataError) as excinfo:
        get_spec("foo")
    message = str(excinfo.value)
    assert "dataset='foo'" in message
    for name in DATASETS:
        assert repr(name) in message


def test_get_spec_tolerates_case_and_spaces() -> None:
    assert get_spec(" Iris ").name == "iris"
    assert load_dataset("PENGUINS").name == "penguins"


def test_unknown_param_names_the_param_and_valid_keys() -> None:
    with pytest.raises(DataError) as excinfo:
        load_dataset("relatedness", {"q": 1})
    message = str(excinfo.value)
    assert "dataset_param 'q'" in message
    for key in ("'p'", "'c'", "'m'", "'d'", "'n'", "'seed'"):
        assert key in message

    with pytest.raises(DataError, match="dataset_param 'p'.*no parameters"):
        load_dataset("iris", {"p": 0.5})


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"p": 2}, ["dataset_param 'p'", "2", "-1", "1"]),
        ({"p": "abc"}, ["dataset_param 'p'", "'abc'"]),
        ({"p": "nan"}, ["dataset_param 'p'", "'nan'"]),
        ({"c": 0}, ["dataset_param 'c'", "0.01"]),
        ({"m": 5.5}, ["dataset_param 'm'", "5.5", "integer"]),
        ({"m": "3.2"}, ["dataset_param 'm'", "'3.2'"]),
        ({"n": 5}, ["dataset_param 'n'", "10"]),
        ({"d": 1000}, ["dataset_param 'd'", "1000", "256"]),
        ({"seed": -1}, ["dataset_param 'seed'", "-1"]),
        ({"seed": True}, ["dataset_param 'seed'", "True"]),
        ({"p": None}, ["dataset_param 'p'", "None"]),
    ],
)
def test_bad_param_values_name_param_and_value(params: dict, words: list[str]) -> None:
    with pytest.raises(DataError) as excinfo:
        load_dataset("relatedness", params)
    for word in words:
        assert word in str(excinfo.value)


def test_params_accept_strings_and_numpy_scalars() -> None:
    dataset = load_dataset("relatedness", {"p": "0.9", "n": "120", "d": np.int64(4), "m": "2.0"})
    assert dataset.info["p"] == pytest.approx(0.9)
    assert isinstance(dataset.info["p"], float)
    assert dataset.info["n"] == 120 and isinstance(dataset.info["n"], int)
    assert dataset.info["m"] == 2 and isinstance(dataset.info["m"], int)
    assert dataset.frame.shape == (120, 6)
    assert "target p = 0.90" in dataset.notes[0]


def test_param_specs_match_generator_defaults() -> None:
    specs = {p.name: p for p in DATASETS["relatedness"].params}
    signature = inspect.signature(generate_relatedness)
    assert list(specs) == list(signature.parameters)
    for name, spec in specs.items():
        assert isinstance(spec, ParamSpec)
        assert spec.kind in (int, float)
        assert spec.low <= spec.default <= spec.high
        assert signature.parameters[name].default == spec.default
        assert spec.help
    assert (specs["p"].low, specs["p"].high) == (-1.0, 1.0)
    assert (specs["n"].low, specs["n"].high) == (10, 200_000)
    assert specs["seed"].high == 2**31 - 1
    for name in DATASETS:
        if name not in ("relatedness", "plane"):
            assert DATASETS[name].params == ()


def _measured(p: float, seed: int = 0) -> float:
    return load_dataset("relatedness", {"p": p, "n": 4000, "seed": seed}).info["measured_correlation"]


@pytest.mark.parametrize("seed", [0, 1, 7, 19])
def test_relatedness_correlation_increases_with_p(seed: int) -> None:
    measured = [_measured(p, seed) for p in (0.0, 0.5, 0.9, 1.0)]
    assert measured == sorted(measured)
    assert len(set(measured)) == 4
    assert abs(measured[0]) < 0.1


def test_relatedness_default_seed_reaches_high_correlation_at_p_1() -> None:
    # Each label's own noise (a fifth of its variance by default) caps the correlation of identical tasks.
    assert _measured(1.0) > 0.7
    assert _measured(-1.0) < -0.5  # the sine terms are not odd (beta_i), so w and -w differ more
    quiet = load_dataset("relatedness", {"p": 1.0, "noise": 0.1}).info["measured_correlation"]
    assert quiet > 0.99


def test_relatedness_warns_when_labels_are_mostly_noise() -> None:
    quiet = load_dataset("relatedness", {"seed": 0})
    assert quiet.info["noise_share"] < 0.5
    assert not any("mostly noise" in note for note in quiet.notes)
    noisy = load_dataset("relatedness", {"noise": 5.0})
    assert noisy.info["noise_share"] > 0.5
    assert any("mostly noise" in note and "noise = 5" in note for note in noisy.notes)
    # Without sine terms the signal is c * (u.x), so a tiny c leaves the noise alone.
    tiny_c = load_dataset("relatedness", {"c": 0.01, "m": 0})
    assert any("mostly noise" in note for note in tiny_c.notes)


def test_relatedness_measured_correlation_is_below_p_and_reported() -> None:
    dataset = load_dataset("relatedness", {"p": 0.8})
    measured = dataset.info["measured_correlation"]
    assert 0.5 < measured < 0.8
    assert dataset.info["p"] == 0.8
    assert measured == pytest.approx(dataset.frame["y1"].corr(dataset.frame["y2"]))
    assert dataset.notes[0] == f"Label correlation measured: {measured:.2f} (target p = 0.80)."


def test_relatedness_is_deterministic_per_seed() -> None:
    first = generate_relatedness(seed=3, n=200)
    second = generate_relatedness(seed=3, n=200)
    other = generate_relatedness(seed=4, n=200)
    pd.testing.assert_frame_equal(first, second)
    assert not np.allclose(first.to_numpy(), other.to_numpy())
    # The generator must not touch or depend on numpy's global random state.
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    pd.testing.assert_frame_equal(generate_relatedness(seed=3, n=200), first)
    assert np.random.random() == before


def test_relatedness_shape_follows_d_and_n() -> None:
    frame = generate_relatedness(d=3, n=25, m=0)
    assert list(frame.columns) == ["x0", "x1", "x2", "y1", "y2"]
    assert len(frame) == 25
    # With no sine terms and p = 1, the labels differ only by the noise.
    same = generate_relatedness(p=1.0, m=0, c=1.0, noise=0.1, n=2000)
    assert (same["y1"] - same["y2"]).std() == pytest.approx(0.1 * np.sqrt(2), rel=0.1)
    # Without noise, p = 1 makes the two tasks one function: the sine terms are the same for both tasks.
    exact = generate_relatedness(p=1.0, m=3, noise=0.0, n=200, seed=5)
    np.testing.assert_allclose(exact["y1"], exact["y2"], atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"p": 1.5}, "p=1.5"),
        ({"d": 1}, "d=1"),
        ({"m": -1}, "m=-1"),
        ({"seed": 1.5}, "seed=1.5"),
    ],
)
def test_generate_relatedness_validates_arguments(kwargs: dict, word: str) -> None:
    with pytest.raises(DataError, match=word):
        generate_relatedness(**kwargs)


def test_drop_missing_reports_counts_per_column() -> None:
    frame = pd.DataFrame(
        {"a": [1.0, np.nan, 3.0, 4.0], "b": ["x", None, None, "y"], "c": [1, 2, 3, 4]},
        index=[10, 11, 12, 13],
    )
    clean, notes, dropped = drop_missing(frame, "test")
    assert dropped == 2
    assert list(clean.index) == [0, 1]
    assert clean["a"].tolist() == [1.0, 4.0]
    assert notes == ["Dropped 2 of 4 rows with missing values (b: 2, a: 1)."]
    assert frame.shape == (4, 3)  # the input is not modified


def test_drop_missing_without_gaps_resets_index_only() -> None:
    frame = pd.DataFrame({"a": [1, 2]}, index=[5, 9])
    clean, notes, dropped = drop_missing(frame, "test")
    assert (notes, dropped) == ([], 0)
    assert isinstance(clean.index, pd.RangeIndex)


def test_drop_missing_everything_is_an_error_naming_the_source() -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, 2.0]})
    with pytest.raises(DataError, match=r"^mysource: every one of the 2 rows"):
        drop_missing(frame, "mysource")


def test_modules_do_not_import_heavy_or_ui_packages() -> None:
    code = (
        "import sys, mtl_core.data.registry, mtl_core.data.generators.relatedness, mtl_core.data.csv_loader\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'streamlit')]\n"
        "print(','.join(bad))"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    assert result.stdout.strip() == ""


def test_large_generator_frames_bypass_the_cache_but_stay_correct() -> None:
    params = {"n": 20_000, "d": 100, "m": 0}
    first = load_dataset("relatedness", params)
    assert first.frame.shape == (20_000, 102)
    first.frame["y1"] = 0.0
    second = load_dataset("relatedness", params)
    assert second.frame["y1"].std() > 0
    pd.testing.assert_frame_equal(second.frame, generate_relatedness(n=20_000, d=100, m=0))


def test_iris_read_from_the_bundled_file_equals_scikit_learns():
    import numpy as np
    from sklearn.datasets import load_iris

    frame = load_dataset("iris").frame
    raw = load_iris()
    assert np.array_equal(frame[["sepal_length", "sepal_width", "petal_length", "petal_width"]].to_numpy(), raw.data)
    assert list(frame["species"]) == [str(raw.target_names[t]) for t in raw.target]
