"""Where a config's rows come from: a built-in dataset or a CSV file (``dataset='csv:PATH'``)."""

from __future__ import annotations

from mtl_core.config import TrainConfig
from mtl_core.data.registry import Dataset, load_dataset

CSV_PREFIX = "csv:"


def load_source(config: TrainConfig) -> Dataset:
    """Load the dataset a config names."""
    if config.dataset.startswith(CSV_PREFIX):
        from mtl_core.data.csv_loader import load_csv_path

        return load_csv_path(config.dataset[len(CSV_PREFIX):])
    return load_dataset(config.dataset, config.dataset_params)
