"""Issue 5 on the dashboard: bad uploads keep the old dataset, divergence, exports, config upload, shared links."""

from __future__ import annotations

import io
import json
import math
import random
import zipfile
from types import SimpleNamespace

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mtl_core.config import TaskSpec, TrainConfig
from mtl_core.data.csv_loader import MAX_CSV_BYTES, load_csv
from mtl_core.errors import MTLError
from mtl_core.presets import PRESETS
from tests.apptest import ROOT, config_of, errors, has_run, new_app, train, training, upload
from ui import exports, share
from ui.state import NOTEBOOK_KEY

GOOD_CSV = b"size,colour,weight,label\n1,red,2.5,a\n2,blue,3.5,b\n3,red,1.0,a\n4,blue,4.5,b\n5,red,2.0,a\n"
BAD_CSVS = {
    "empty": b"",
    "header only": b"a,b,c\n",
    "one column": b"x\n1\n2\n3\n",
    "duplicate names": b"a,a,b\n1,2,3\n4,5,6\n",
    "blank name": b"a,,b\n1,2,3\n4,5,6\n",
    "no usable input": b"c,id\n1,a\n1,b\n1,c\n",
    "column all missing": b"a,b,c\n1,,x\n2,,y\n3,NA,x\n",
    "binary with NUL bytes": random.Random(0).randbytes(4096),
    "binary without NUL bytes": random.Random(1).randbytes(4096).replace(b"\x00", b"\x01"),
    "excel workbook": b"PK\x03\x04\x14\x00\x06\x00" + bytes(200),
    "over the limit": b"a,b\n" + b"1,2\n" * (MAX_CSV_BYTES // 4 + 1),
}


def core_message(data: bytes) -> str:
    try:
        load_csv(data, "x.csv")
    except MTLError as exc:
        return str(exc)
    raise AssertionError("load_csv accepted a bad file")


# ---- bad CSV uploads ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data_page() -> AppTest:
    """/data with a good CSV uploaded: the dataset every bad upload must leave in place."""
    at = upload(new_app("pages/data.py"), "csv_upload", "good.csv", GOOD_CSV)
    assert config_of(at).dataset == "csv:good.csv"
    assert any(s.value.startswith("Loaded good.csv: 5 rows × 4 columns") for s in at.success)
    return at


@pytest.mark.parametrize("case", list(BAD_CSVS))
def test_a_bad_csv_shows_the_core_message_and_keeps_the_previous_dataset(data_page, case):
    at = data_page
    before = config_of(at).to_dict()
    preview = at.dataframe[0].value
    upload(at, "csv_upload", f"{case}.csv", BAD_CSVS[case])
    expected = core_message(BAD_CSVS[case])
    assert errors(at) == [f"{case}.csv: {expected} The previous dataset is still in use."]
    assert "Traceback" not in expected
    assert config_of(at).to_dict() == before
    assert at.dataframe[0].value.equals(preview)
    # A rerun with the bad file still in the uploader shows the message again and changes nothing.
    at.run()
    assert errors(at) == [f"{case}.csv: {expected} The previous dataset is still in use."]
    assert config_of(at).to_dict() == before


def test_messages_for_the_bad_files_are_the_expected_ones():
    # Guards the fixtures above: each file fails for the reason its name gives.
    expected = {"empty": "file is empty", "header only": "no data rows", "one column": "found only 1 column",
                "duplicate names": "duplicate column names 'a'", "blank name": "column 2 of 3 has a blank name",
                "no usable input": "no usable input column", "column all missing": "column 'b' is entirely empty",
                "binary with NUL bytes": "contains NUL bytes", "binary without NUL bytes": "control characters",
                "excel workbook": "Excel workbook", "over the limit": "over the 10 MB limit"}
    for case, data in BAD_CSVS.items():
        assert expected[case] in core_message(data), case


def test_an_uploaded_file_is_read_once_so_later_edits_survive_reruns():
    at = upload(new_app("pages/data.py"), "csv_upload", "good.csv", GOOD_CSV)
    at.multiselect(key="tasks").set_value(["label", "weight"]).run()
    at.run()
    assert config_of(at).task_names == ["label", "weight"]
    # The dataset notes report dropped rows with missing values.
    upload(at, "csv_upload", "gaps.csv", GOOD_CSV + b"6,,3.0,b\n7,red,NA,a\n")
    assert config_of(at).dataset == "csv:gaps.csv"
    assert "Dropped 2 of 7 rows with missing values (colour: 1, weight: 1)." in [i.value for i in at.info]
    assert "5 rows × 4 columns" in [c.value for c in at.caption]


def test_task_errors_show_next_to_the_task_picker_and_on_train():
    rows = [f"{i},{i % 7},same,c{i % 60},{'yes' if i % 2 else 'no'}" for i in range(120)]
    csv = ("x,z,one,many,flag\n" + "\n".join(rows) + "\n").encode()
    at = upload(new_app("pages/data.py"), "csv_upload", "tasks.csv", csv)
    at.multiselect(key="tasks").set_value(["one"]).run()
    assert any("task='one' is invalid: it has one class ('same')" in e for e in errors(at)), errors(at)
    at.multiselect(key="tasks").set_value(["many"]).run()
    assert any("it has 60 classes and at most 50 are supported; treat it as regression" in e for e in errors(at))
    at.multiselect(key="tasks").set_value(["flag"]).run()
    assert not errors(at)
    at.selectbox(key="kind:flag").set_value("regression").run()
    message = [e for e in errors(at) if "a regression target must be numeric" in e]
    assert message and message[0].startswith("task='flag' (kind 'regression') is invalid")
    # Train shows the same message when starting, and starts nothing.
    at.switch_page("pages/train.py").run()
    at.button(key="play_button").click().run()
    assert not at.exception
    assert message[0] in errors(at)
    assert not has_run(at)


# ---- training: divergence, exports, rerun from the config ------------------------------------------------
@pytest.fixture(scope="module")
def trained() -> AppTest:
    at = new_app()
    cfg = config_of(at)
    cfg.epochs, cfg.seed = 8, 5
    return train(at)


def test_divergence_stops_with_the_core_message_and_predict_still_works():
    at = new_app()
    cfg = config_of(at)
    cfg.optimizer, cfg.lr, cfg.epochs = "sgd", 50.0, 30
    train(at)
    result = training(at).run.result
    assert result.stopped_reason == "diverged"
    assert [w.value for w in at.warning] == [result.message]
    assert "Try a lower learning rate (lr=50)" in result.message
    at.switch_page("pages/predict.py").run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert math.isfinite(float(metrics["petal_width"]))
    assert metrics["species"] in ("setosa", "versicolor", "virginica")
    predicted = training(at).run.predictor.predict_one(
        {"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 5.1})
    assert all(math.isfinite(p) for p in predicted["species"].probabilities.values())


def test_exports_are_parseable_files(trained, tmp_path):
    at = trained
    labels = {b.label for b in at.get("download_button")}
    assert {"Model (.keras)", "Config (.json)", "Loss history (.csv)", "Test metrics (.csv)",
            "TF.js model (.zip)"} <= labels
    session = training(at)
    result = session.run.result
    config = json.loads(exports.config_json(result))
    assert TrainConfig.from_dict(config).to_dict() == result.config.to_dict()
    history = pd.read_csv(io.BytesIO(exports.history_csv(result.history)))
    assert list(history.columns[:5]) == ["epoch", "task", "loss", "val_loss", "weight"]
    assert {"val_accuracy", "val_mae", "elapsed_s"} <= set(history.columns)
    assert len(history) == 8 * 2
    last = history[(history.epoch == 8) & (history.task == "petal_width")].iloc[0]
    assert last.loss == pytest.approx(result.history[-1].loss["petal_width"])
    assert math.isnan(last.val_accuracy)  # a regression task has no accuracy: an empty cell
    metrics = pd.read_csv(io.BytesIO(exports.test_metrics_csv(result.test_metrics)))
    assert metrics.set_index(["task", "metric"]).value.to_dict()[("species", "accuracy")] == pytest.approx(
        result.test_metrics["species"]["accuracy"])
    model_file = tmp_path / "model.keras"
    model_file.write_bytes(exports.keras_bytes(session))
    assert exports.keras_bytes(session) is exports.keras_bytes(session)  # made once per run
    from mtl_core.io.saving import load_model

    model, info = load_model(model_file)  # our own file, written just above
    x = result.prepared.x["test"]
    assert (model(x)["petal_width"].numpy() == result.model(x)["petal_width"].numpy()).all()
    data, reason = exports.tfjs_zip(session)
    assert reason is None
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "model.json" in names
    assert json.loads(zipfile.ZipFile(io.BytesIO(data)).read("model.json"))["format"] == "layers-model"


def test_tfjs_export_of_an_unsupported_layer_gives_the_message(trained):
    from mtl_core._tf import keras

    run = training(trained).run
    inputs = keras.Input((3,))
    odd = keras.Model(inputs, {"species": keras.layers.LayerNormalization(name="odd")(inputs)})
    fake = SimpleNamespace(cache={}, run=SimpleNamespace(result=SimpleNamespace(model=odd), info=run.info))
    data, reason = exports.tfjs_zip(fake)
    assert data is None
    assert "cannot be exported to TensorFlow.js" in reason and "LayerNormalization" in reason


def test_the_config_json_trains_the_same_run_in_a_fresh_session(trained):
    first = training(trained).run.result
    at = new_app("pages/model.py")
    upload(at, "config_upload", "run.json", exports.config_json(first))
    assert any(s.value.startswith("Loaded the config from run.json") for s in at.success)
    assert any("never loaded" in c.value for c in at.caption)
    assert config_of(at).to_dict() == first.config.to_dict()
    second = training(train(at)).run.result

    def strip(history):
        return [{k: v for k, v in e.to_dict().items() if k != "elapsed"} for e in history]

    assert len(second.history) == 8
    assert strip(second.history) == strip(first.history)
    assert second.test_metrics == first.test_metrics


@pytest.mark.parametrize(("data", "message"), [
    (b"{not json", "config is not valid JSON: Expecting property name enclosed in double quotes at line 1"),
    (b"PK\x03\x04rest-of-a-keras-file", "model files (.keras) are never loaded"),
    (b'{"dataset": "iris", "tasks": ["species"], "colour": 1}', "config='colour' is invalid: unknown key"),
    (b'{"dataset": "iris", "tasks": ["species"], "lr": -1}', "lr=-1 is invalid"),
    (b'{"dataset": "iris", "tasks": ["nope"]}', "task='nope' is invalid: no such column"),
    (b'{"dataset": "upload:mine.csv", "tasks": ["y"]}', "Upload mine.csv on Data & tasks first"),
])
def test_a_bad_config_file_keeps_the_config(data, message):
    at = new_app("pages/model.py")
    before = config_of(at).to_dict()
    upload(at, "config_upload", "bad.json", data)
    assert any(message in e for e in errors(at)), errors(at)
    assert config_of(at).to_dict() == before


@pytest.mark.parametrize("prefix", ["csv:", "upload:"])  # "upload:" in configs saved before uploads were csv:
def test_a_config_of_an_uploaded_csv_loads_once_the_csv_is_uploaded(prefix):
    at = upload(new_app("pages/data.py"), "csv_upload", "good.csv", GOOD_CSV)
    at.switch_page("pages/model.py").run()
    upload(at, "config_upload", "run.json", json.dumps(
        {"dataset": f"{prefix}good.csv", "tasks": ["label", "weight"], "seed": 9}).encode())
    assert not errors(at), errors(at)
    assert any(s.value.startswith("Loaded the config from run.json: Uploaded: good.csv, tasks label, weight")
               for s in at.success)
    assert (config_of(at).dataset, config_of(at).task_names, config_of(at).seed) == (
        "csv:good.csv", ["label", "weight"], 9)


# ---- the setup in the URL ----------------------------------------------------------------------------------
def variants() -> list[TrainConfig]:
    configs = [p.make_config() for p in PRESETS.values()]
    odd = PRESETS["penguins"].make_config()
    # gradnorm: its lr below is a parameter it takes (validation refuses one a strategy doesn't take).
    odd.arch, odd.experts, odd.expert_units, odd.weighting = "mmoe", 3, 12, "gradnorm"
    odd.heads = {"sex": [4, 2]}
    odd.loss_weights = {"species": 0.25, "body_mass_g": 1e-05}
    odd.tasks[1] = TaskSpec("sex", "binary")
    odd.weighting_params = {"lr": 0.1}
    odd.dropout, odd.early_stopping, odd.standardize_inputs, odd.lr = 0.1, True, False, 0.0123456789
    configs.append(odd)
    return configs


@pytest.mark.parametrize("config", variants(), ids=lambda c: f"{c.dataset}-{c.arch}")
def test_link_parameters_round_trip(config):
    params = share.config_to_params(config)
    assert share.config_from_params(params).to_dict() == config.to_dict()
    assert {"ds", "t", "sh", "hd", "wt", "seed", "ep", "lr", "opt"} <= set(params)


def test_a_link_opens_the_same_setup_and_the_url_follows_the_config():
    query = {"ds": "penguins", "t": "species,sex", "sh": "16", "hd": "", "w": "sex:0.5", "wt": "fixed",
             "seed": "7", "ep": "30", "lr": "0.02", "opt": "rmsprop", "a": "mmoe", "ex": "3"}
    at = new_app(query=query)
    cfg = config_of(at)
    assert (cfg.dataset, cfg.task_names, cfg.shared, cfg.head, cfg.seed, cfg.epochs, cfg.lr, cfg.optimizer,
            cfg.arch, cfg.experts) == ("penguins", ["species", "sex"], [16], [], 7, 30, 0.02, "rmsprop", "mmoe", 3)
    assert cfg.loss_weights == {"sex": 0.5}
    assert not at.error
    assert at.query_params == {**share.config_to_params(cfg), share.NOTEBOOK: at.session_state[NOTEBOOK_KEY]}
    # A preset applied on Home rewrites the link.
    at.button(key="preset_relatedness").click().run()
    assert at.query_params["ds"] == "relatedness" and at.query_params["d.p"] == "0.8"
    at.switch_page("pages/model.py").run()
    code = at.code[0].value
    assert code == "?" + share.query_string(share.config_to_params(config_of(at)))
    assert "t=y1,y2" in code and "sh=32,16" in code


# A bad link (its message, the nearest valid setup, the address kept): tests/test_app_links.py.


def test_an_uploaded_dataset_has_no_link():
    at = upload(new_app("pages/data.py"), "csv_upload", "good.csv", GOOD_CSV)
    at.switch_page("pages/model.py").run()
    assert any("can't be in a link" in i.value for i in at.info)
    assert share.config_to_params(config_of(at)) == {}


def test_share_links_point_at_the_home_page():
    assert share.app_root("http://localhost:8596/model") == "http://localhost:8596/"
    assert share.app_root("https://example.org/lab/model/") == "https://example.org/lab/"
    assert share.app_root("http://localhost:8596/") == "http://localhost:8596/"
    assert share.app_root(None) == ""


def test_server_settings_keep_xsrf_on_and_match_the_upload_limit():
    import tomllib

    from ui.upload import limit_mb

    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["server"]["enableXsrfProtection"] is True
    # One limit in one unit: Streamlit's browser side refuses over maxUploadSize x 1,000,000 bytes, the page says
    # "10 MB" and the loader refuses over MAX_CSV_BYTES; a file of exactly 10 MB passes all three.
    assert settings["server"]["maxUploadSize"] == limit_mb() == 10
    assert MAX_CSV_BYTES == settings["server"]["maxUploadSize"] * 1_000_000
    assert settings["browser"]["gatherUsageStats"] is False
    assert settings["runner"]["postScriptGC"] is False  # the rerun speed fix (ui/speed.py has the other)



def test_a_csv_with_two_thousand_columns_draws_a_bounded_number_of_inputs_on_predict():
    # 1,999 inputs once drew 1,999 sliders (a 4.8 s round trip): at most MAX_INPUT_WIDGETS, and a caption.
    header = ",".join(f"c{i}" for i in range(1999)) + ",y\n"
    rows = "".join(",".join(str((r * 7 + i) % 10) for i in range(1999)) + f",{r % 2}\n" for r in range(12))
    at = upload(new_app("pages/data.py"), "csv_upload", "wide.csv", (header + rows).encode())
    at.run()  # the rerun after a good file
    cfg = config_of(at)
    cfg.tasks, cfg.epochs, cfg.shared, cfg.head, cfg.early_stopping = [TaskSpec("y")], 1, [4], [], False
    train(at)
    at.switch_page("pages/predict.py").run()
    assert not at.exception, at.exception
    # The inputs' widgets (keyed x<token>:<column>), not the landscape's two axis pickers.
    token = training(at).token
    drawn = sum(w.key.startswith(f"x{token}:") for w in [*at.slider, *at.selectbox])
    assert 0 < drawn <= 40
    assert any("This model has 1,999 inputs; the first 40 have a widget here" in c.value for c in at.caption)
