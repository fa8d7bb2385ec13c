"""The field table feeds the CLI parser, share links and the study flags; its names are a contract."""

from __future__ import annotations

import argparse

from mtl_core.cli.options import add_data_arguments, add_model_arguments, config_from_args
from mtl_core.fields import FIELDS

# The spellings users and saved links rely on: changing one breaks scripts and old links.
CLI_FLAGS = {"--dataset", "--dataset-param", "--task", "--inputs", "--arch", "--shared", "--head", "--experts",
             "--expert-units", "--activation", "--dropout", "--l2", "--optimizer", "--lr", "--batch-size",
             "--epochs", "--loss-weight", "--weighting", "--weighting-param", "--regression-loss",
             "--early-stopping", "--patience", "--conflict-every", "--seed"}
URL_KEYS = {"ds", "d.", "t", "in", "a", "sh", "hd", "h.", "ex", "eu", "act", "do", "l2", "opt", "lr", "bs", "ep",
            "w", "wt", "wp.", "rl", "es", "pat", "vf", "tf", "std", "ce", "seed"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    add_data_arguments(p)
    add_model_arguments(p)
    return p


def test_flags_and_url_keys_are_unchanged():
    assert {f.flag for f in FIELDS.values() if f.flag} == CLI_FLAGS
    assert {f.url for f in FIELDS.values() if f.url} == URL_KEYS
    options = {o for action in parser()._actions for o in action.option_strings}
    assert CLI_FLAGS | {"--csv", "--preset", "--config", "--json"} <= options


def test_every_model_flag_reaches_the_config():
    args = parser().parse_args([
        "--dataset", "iris", "--task", "species", "--task", "petal_width", "--arch", "mmoe", "--experts", "3",
        "--expert-units", "5", "--activation", "tanh", "--dropout", "0.1", "--l2", "0.001", "--optimizer", "sgd",
        "--lr", "0.2", "--batch-size", "16", "--epochs", "7", "--loss-weight", "species=0.5",
        "--weighting", "gradnorm", "--weighting-param", "alpha=2", "--regression-loss", "huber",
        "--early-stopping", "--patience", "3", "--conflict-every", "0", "--seed", "9", "--shared", "4",
        "--head", ""])
    c = config_from_args(args)
    assert (c.arch, c.experts, c.expert_units, c.activation, c.dropout, c.l2, c.optimizer, c.lr, c.batch_size,
            c.epochs) == ("mmoe", 3, 5, "tanh", 0.1, 0.001, "sgd", 0.2, 16, 7)
    assert (c.loss_weights, c.weighting, c.weighting_params, c.regression_loss, c.early_stopping, c.patience,
            c.conflict_every, c.seed, c.shared, c.head) == ({"species": 0.5}, "gradnorm", {"alpha": 2.0}, "huber",
                                                            True, 3, 0, 9, [4], [])


def test_share_links_and_study_flags_read_the_table():
    from mtl_core.cli.compare import _STUDY_FLAGS
    from ui import share

    assert share.SCALARS == {f.url: (f.name, f.kind) for f in FIELDS.values() if f.scalar and f.url}
    assert list(share.SCALARS)[:3] == ["a", "ex", "eu"]  # link order as before the table
    assert set(_STUDY_FLAGS) == {"experts", "expert_units", "activation", "dropout", "l2", "optimizer", "lr",
                                 "batch_size", "epochs", "weighting", "regression_loss", "early_stopping",
                                 "patience", "shared", "head"}
