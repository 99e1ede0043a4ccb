"""Writing a run's files whole: written beside and renamed, so an interrupted write never
leaves half a file; and values made fit for JSON and for a report's table."""

import json
import os
from pathlib import Path

import keras
import numpy as np

__all__ = ["format_value", "jsonable", "save_model", "write_json", "write_text"]


def jsonable(value):
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


def format_value(value):
    """A number as a report's table shows it: 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def save_model(model, path):
    # Save beside and rename, so an interrupted save never leaves half a model.
    temporary = path.with_name(f"{path.stem}.{os.getpid()}.partial.keras")
    model.save(temporary)
    temporary.replace(path)


def write_json(path, data):
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_text(path, text):
    # Write beside and rename, so an interrupted write never leaves half a file.
    temporary = Path(str(path) + ".partial")
    temporary.write_text(text)
    temporary.replace(path)
