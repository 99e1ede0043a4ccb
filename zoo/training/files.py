"""Writing a run's files whole: written beside and renamed, so an interrupted write never
leaves half a file; and values made fit for JSON and for a report's table."""

import json
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

__all__ = ["format_value", "jsonable", "save_model", "write_json", "write_text"]


def jsonable(value: Any) -> Any:
    """`value` with its arrays, tensors and NumPy scalars turned into lists and numbers."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "shape"):  # a backend tensor or NumPy array
        return np.asarray(keras.ops.convert_to_numpy(value)).tolist()
    return value


def format_value(value: Any) -> str:
    """A number as a report's table shows it: 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def save_model(model: keras.Model, path: Path) -> None:
    """`model.save(path)`, saved beside and renamed, so an interrupted save never leaves half
    a model; `path` ends in `.keras`."""
    temporary = path.with_name(f"{path.stem}.{os.getpid()}.partial.keras")
    model.save(temporary)
    temporary.replace(path)


def write_json(path: str | Path, data: Any) -> None:
    """`data` (what `json` takes) as indented JSON with sorted keys, written whole."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_text(path: str | Path, text: str) -> None:
    """`text` into `path`, written beside and renamed, so an interrupted write never leaves
    half a file."""
    temporary = Path(str(path) + ".partial")
    temporary.write_text(text)
    temporary.replace(path)
