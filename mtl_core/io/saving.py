"""Save and load models as standard ``.keras`` files that also carry an ``mtl_core.json`` entry.

TensorFlow loads only in ``load_model``: ``read_info`` (and with it every "not a model" error) needs none.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from mtl_core.errors import DataError, bad_value

if TYPE_CHECKING:
    from mtl_core._tf import keras
    from mtl_core.io.model_info import ModelInfo

INFO_ENTRY = "mtl_core.json"


def save_model(model: keras.Model, info: ModelInfo, path: str | os.PathLike) -> Path:
    """Write a ``.keras`` file; Keras ignores the extra zip entry, so plain ``load_model`` still works."""
    path = Path(path)
    if path.suffix != ".keras":
        raise bad_value("save", str(path), "the file name must end in .keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(INFO_ENTRY, json.dumps(info.to_dict(), indent=1))
    return path


def model_bytes(model: keras.Model, info: ModelInfo) -> bytes:
    """The ``.keras`` file as bytes, for a download button."""
    with tempfile.TemporaryDirectory() as tmp:
        path = save_model(model, info, Path(tmp) / "model.keras")
        return path.read_bytes()


def read_info(path: str | os.PathLike) -> ModelInfo:
    """Read only the mtl_core entry of a saved model."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read(INFO_ENTRY))
    except FileNotFoundError:
        raise bad_value("model", str(path), "no such file", DataError) from None
    except IsADirectoryError:
        raise bad_value("model", str(path), "is a directory; give a .keras file", DataError) from None
    except OSError as exc:
        raise bad_value("model", str(path), f"cannot be read ({exc.strerror or exc})", DataError) from None
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError):
        raise bad_value("model", str(path), "not a .keras file saved by mtl_core", DataError) from None
    # Imported here: a missing or foreign file is reported without loading pandas and scikit-learn.
    from mtl_core.io.model_info import ModelInfo

    try:
        return ModelInfo.from_dict(data)
    except (KeyError, TypeError, AttributeError):
        raise bad_value("model", str(path), "its mtl_core.json entry is damaged", DataError) from None


def load_model(path: str | os.PathLike) -> tuple[keras.Model, ModelInfo]:
    """Load a model saved by ``save_model`` with Keras's safe mode on; never use it on an untrusted file."""
    info = read_info(path)
    from mtl_core._tf import keras

    return keras.saving.load_model(path, safe_mode=True), info
