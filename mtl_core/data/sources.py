"""The one resolver from a config's dataset name to rows: built-in datasets, CSV files and uploaded CSVs.

A config's ``dataset`` is a registry name (``iris``) or ``csv:FILE``. Who resolves it decides where FILE comes
from: the CLI passes no uploads and FILE is a path on disk; the dashboard passes its session's uploads and FILE
is the name of a file uploaded in that session (the dashboard never reads a server path). ``upload:FILE``,
which the dashboard wrote into configs before both used ``csv:``, still reads as ``csv:FILE``.

Light on purpose (no pandas until something is loaded): the dashboard's home page imports it via ``ui``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mtl_core.errors import DataError, MTLError, bad_value

if TYPE_CHECKING:
    from mtl_core.config import TrainConfig
    from mtl_core.data.registry import Dataset

CSV_PREFIX = "csv:"
# Read as CSV_PREFIX: saved configs of uploaded CSVs from before the dashboard used "csv:" carry it.
LEGACY_PREFIXES = ("upload:",)
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """A parsed dataset name: a built-in dataset (``file`` None) or a CSV file."""

    name: str
    file: str | None = None

    @property
    def is_csv(self) -> bool:
        """True for a CSV file (a path, or an upload's file name), False for a built-in dataset."""
        return self.file is not None


def parse_source(name: str) -> Source:
    """Parse a dataset name; ``upload:FILE`` (older configs) becomes ``csv:FILE``."""
    for prefix in (CSV_PREFIX, *LEGACY_PREFIXES):
        if isinstance(name, str) and name.startswith(prefix):
            file = name[len(prefix):]
            if not file.strip():
                raise bad_value("dataset", name, f"expected a CSV file name after {CSV_PREFIX!r}", DataError)
            return Source(CSV_PREFIX + file, file)
    return Source(name)


def source_title(name: str, uploads: Mapping[str, Dataset] | None = None) -> str:
    """A dataset's display title: the registry title, or the CSV's file name (the name itself if unknown)."""
    try:
        source = parse_source(name)
    except MTLError:
        return str(name)
    if source.is_csv:
        return f"Uploaded: {source.file}" if uploads is not None else f"CSV {source.file}"
    from mtl_core.data.registry import DATASETS

    spec = DATASETS.get(name)
    return spec.title if spec is not None else name


def load_source(config: TrainConfig, uploads: Mapping[str, Dataset] | None = None) -> Dataset:
    """The dataset a config names; ``uploads`` (the dashboard's, by name) replaces reading CSV paths from disk.

    Raises DataError naming ``dataset`` (unknown name, upload not in this session) or ``csv`` (unreadable file).
    """
    source = parse_source(config.dataset)
    if source.is_csv:
        return _load_csv(config.dataset, source, uploads)
    from mtl_core.data.registry import load_dataset

    return load_dataset(config.dataset, config.dataset_params)


def suggested_tasks(name: str, uploads: Mapping[str, Dataset] | None = None) -> tuple[str, ...]:
    """The tasks a dataset suggests (a built-in dataset's without loading it)."""
    source = parse_source(name)
    if source.is_csv:
        return tuple(_load_csv(name, source, uploads).suggested_tasks)
    from mtl_core.data.registry import get_spec

    return tuple(get_spec(name).suggested_tasks)


def _load_csv(name: str, source: Source, uploads: Mapping[str, Dataset] | None) -> Dataset:
    if uploads is None:
        from mtl_core.data.csv_loader import load_csv_path

        return load_csv_path(source.file)
    dataset = uploads.get(source.name)
    if dataset is None:
        where = uploads.where if isinstance(uploads, UploadStore) else ""
        raise DataError(f"dataset={name!r} is invalid: it was a CSV uploaded in another session, and uploaded "
                        f"data never leaves a session. Upload {source.file}{where} first, then this config.",
                        param="dataset", value=name)
    return dataset


def read_csv_bytes(data: bytes, file_name: str) -> Dataset:
    """Parse uploaded bytes with the CSV loader; any failure is a DataError whose message a page can show."""
    from mtl_core.data.csv_loader import load_csv

    try:
        return load_csv(data, file_name)
    except MTLError:
        raise
    except Exception as exc:  # noqa: BLE001 - a parser bug must still read as a message, never a traceback
        _log.exception("load_csv failed on %r", file_name)
        raise DataError(f"csv: could not read {file_name!r} ({type(exc).__name__}: {exc}); check that it is a "
                        "plain-text CSV table with a header row.", param="csv", value=file_name) from exc


class UploadStore(Mapping[str, "Dataset"]):
    """CSV files uploaded in one session, by dataset name (``csv:FILE``), newest last; pass it to load_source.

    Holds no global state: the dashboard keeps one per session (in its session state). At most ``keep``
    files are kept so memory stays bounded; the newest is never dropped. ``where`` tells users where to
    upload, for the message about a config whose CSV is not here (e.g. ``" on Data & tasks"``).
    """

    def __init__(self, keep: int = 3, where: str = "") -> None:
        self.keep = keep
        self.where = where
        self._datasets: dict[str, Dataset] = {}

    def add(self, data: bytes, file_name: str) -> str:
        """Parse and keep an uploaded file, returning its dataset name; DataError (nothing kept) if unusable."""
        dataset = read_csv_bytes(data, file_name)
        name = parse_source(CSV_PREFIX + file_name).name
        self._datasets.pop(name, None)  # a file uploaded again (corrected) becomes the newest
        self._datasets[name] = dataset
        for old in list(self._datasets)[: max(0, len(self._datasets) - self.keep)]:
            del self._datasets[old]
        return name

    def __getitem__(self, name: str) -> Dataset:
        return self._datasets[parse_source(name).name]

    def __contains__(self, name: object) -> bool:
        try:
            return isinstance(name, str) and parse_source(name).name in self._datasets
        except MTLError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._datasets)

    def __len__(self) -> int:
        return len(self._datasets)
