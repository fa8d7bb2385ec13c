"""The one source resolver: built-in names, csv:PATH on disk, uploaded CSVs and the older upload: prefix."""

from __future__ import annotations

import pytest

from mtl_core.config import TrainConfig
from mtl_core.data.sources import (
    UploadStore,
    load_source,
    parse_source,
    read_csv_bytes,
    source_title,
    suggested_tasks,
)
from mtl_core.errors import DataError

CSV = b"size,colour,label\n1,red,a\n2,blue,b\n3,red,a\n4,blue,b\n"


def test_a_builtin_name_loads_the_registry_dataset_with_its_parameters():
    iris = load_source(TrainConfig(dataset="iris"))
    assert iris.name == "iris" and iris.frame.shape == (150, 5)
    generated = load_source(TrainConfig(dataset="relatedness", dataset_params={"n": 60}))
    assert len(generated.frame) == 60
    assert suggested_tasks("penguins") == ("species", "sex", "body_mass_g")
    assert not parse_source("iris").is_csv


def test_a_builtin_title_is_the_registry_title():
    from mtl_core.data.registry import DATASETS

    assert source_title("wine") == DATASETS["wine"].title != "wine"
    assert source_title("nope") == "nope"  # unknown: shown as written


def test_a_csv_path_is_read_from_disk(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_bytes(CSV)
    data = load_source(TrainConfig(dataset=f"csv:{path}"))
    assert list(data.frame.columns) == ["size", "colour", "label"] and len(data.frame) == 4
    assert data.suggested_tasks == ("label",)
    assert parse_source(f"csv:{path}") == parse_source(f"csv:{path}")
    assert parse_source(f"csv:{path}").file == str(path)
    assert source_title(f"csv:{path}") == f"CSV {path}"


def test_a_missing_csv_path_names_csv_and_the_path(tmp_path):
    missing = tmp_path / "gone.csv"
    with pytest.raises(DataError, match=r"^csv='.*gone\.csv' is invalid: no such file\.$"):
        load_source(TrainConfig(dataset=f"csv:{missing}"))


def test_an_uploaded_csv_comes_from_the_store_never_from_disk(tmp_path, monkeypatch):
    (tmp_path / "mine.csv").write_bytes(b"x,y\n1,2\n3,4\n5,6\n")  # a file of the same name on "the server"
    monkeypatch.chdir(tmp_path)
    store = UploadStore()
    name = store.add(CSV, "mine.csv")
    assert name == "csv:mine.csv" and name in store and list(store) == [name]
    data = load_source(TrainConfig(dataset=name), store)
    assert data is store[name] and list(data.frame.columns) == ["size", "colour", "label"]
    assert source_title(name, store) == "Uploaded: mine.csv"
    assert suggested_tasks(name, store) == ("label",)
    # Not uploaded in this session: a message, and the file on disk is not read.
    with pytest.raises(DataError, match=r"^dataset='csv:other\.csv' is invalid: it was a CSV uploaded in another "
                                        r"session.*Upload other\.csv first"):
        load_source(TrainConfig(dataset="csv:other.csv"), store)
    with pytest.raises(DataError, match="uploaded in another session"):
        load_source(TrainConfig(dataset="csv:mine.csv"), {})


def test_the_store_says_where_to_upload_and_keeps_a_few_files():
    store = UploadStore(keep=2, where=" on Data & tasks")
    with pytest.raises(DataError, match=r"Upload gone\.csv on Data & tasks first, then this config\.$"):
        load_source(TrainConfig(dataset="csv:gone.csv"), store)
    for file in ("a.csv", "b.csv", "c.csv"):
        store.add(CSV, file)
    assert list(store) == ["csv:b.csv", "csv:c.csv"]  # the oldest dropped, the newest kept
    store.add(CSV + b"5,red,a\n", "b.csv")  # a corrected file replaces the old one and is the newest
    assert list(store) == ["csv:c.csv", "csv:b.csv"] and len(store["csv:b.csv"].frame) == 5


def test_a_bad_upload_is_a_data_error_and_keeps_nothing():
    store = UploadStore()
    with pytest.raises(DataError, match="ZIP archive"):
        store.add(b"PK\x03\x04 not a csv", "book.xlsx")
    assert len(store) == 0


def test_a_parser_bug_still_reads_as_a_data_error(monkeypatch):
    import mtl_core.data.csv_loader as csv_loader

    def broken(data, name):
        raise IndexError("list index out of range")

    monkeypatch.setattr(csv_loader, "load_csv", broken)
    with pytest.raises(DataError, match=r"^csv: could not read 'x\.csv' \(IndexError: list index out of range\)"):
        read_csv_bytes(CSV, "x.csv")


def test_an_unknown_name_is_a_data_error_naming_dataset():
    with pytest.raises(DataError, match=r"^dataset='nope' is invalid: expected one of 'breast_cancer', .*'wine'"):
        load_source(TrainConfig(dataset="nope"))
    with pytest.raises(DataError, match=r"^dataset='csv:' is invalid: expected a CSV file name after 'csv:'"):
        load_source(TrainConfig(dataset="csv:"))


def test_the_older_upload_prefix_reads_as_csv(tmp_path):
    assert parse_source("upload:mine.csv").name == "csv:mine.csv"
    assert parse_source("upload:mine.csv").file == "mine.csv"
    store = UploadStore()
    store.add(CSV, "mine.csv")
    # A config saved by an older dashboard finds the file uploaded under the new name, and the other way round.
    assert "upload:mine.csv" in store
    assert load_source(TrainConfig(dataset="upload:mine.csv"), store) is store["csv:mine.csv"]
    assert source_title("upload:mine.csv", store) == "Uploaded: mine.csv"
    with pytest.raises(DataError, match=r"^dataset='upload:gone\.csv' is invalid: it was a CSV uploaded"):
        load_source(TrainConfig(dataset="upload:gone.csv"), store)
    # The CLI, given such a config, reads the file by that name.
    path = tmp_path / "mine.csv"
    path.write_bytes(CSV)
    assert len(load_source(TrainConfig(dataset=f"upload:{path}")).frame) == 4
