"""Trained models that ship with zoo, loaded in one line on any backend.

A preset is a folder in keras-hub's layout:

    config.json         the model's Keras config (class and constructor arguments)
    model.weights.h5    its weights, without optimizer state (float16 where the card says so)
    metadata.json       zoo and Keras versions, parameter count, date, data, command, backend,
                        machine, and the metrics with their spread
    assets/             what the model needs besides weights: a translator's vocabularies
    README.md           the model card: what it is and is not good for, data, licence,
                        numbers, pictures

    import zoo
    zoo.presets.available()                         # the registered names
    gan = zoo.DCGAN.from_preset("dcgan_oxford17")   # or zoo.presets.load(handle), any class
    translator = zoo.translation.Translator.from_preset("transformer_small_vocab_en_fr")
    zoo.presets.path("dcgan_oxford17")              # the preset's checked local folder

A handle is a registered name, a local folder, or an http(s) URL ending in a registered
name (each file is fetched with `keras.utils.get_file`, checked against the registry's
sha256 and cached). A registered name is read from the `presets/` folder of a zoo checkout,
else fetched from `$ZOO_PRESET_URL/<name>/`. Loading uses Keras' safe mode. Every failure is
a `PresetError` with a one-line message.

`tools/export_preset.py RUN_DIR NAME` writes a preset (and its registry entry) from a
finished run.
"""

import hashlib
import json
import os
import tempfile
from pathlib import Path

import keras
import numpy as np

__all__ = [
    "FromPreset",
    "PresetError",
    "available",
    "describe",
    "load",
    "path",
    "save",
]

REGISTRY_FILE = Path(__file__).with_name("preset_registry.json")
CHECKOUT_PRESETS = Path(__file__).resolve().parents[1] / "presets"  # a zoo checkout's folder
REQUIRED_FILES = ("config.json", "model.weights.h5", "metadata.json")


class PresetError(ValueError):
    """A preset that cannot be loaded; its message is one line naming the preset and why."""


def registry():
    """{name: {"description", "class", "files": {relative path: sha256}}} of shipped presets."""
    return json.loads(REGISTRY_FILE.read_text(encoding="utf-8"))


def available() -> list[str]:
    """The registered presets' names, sorted."""
    return sorted(registry())


def describe() -> dict[str, str]:
    """{name: one-line description} of every registered preset."""
    return {name: entry["description"] for name, entry in sorted(registry().items())}


def path(handle: str | os.PathLike) -> Path:
    """The local folder of the preset `handle` names, its files checked first.

    Args:
        handle: a registered name (the checkout's `presets/<name>/`, every file's sha256
            checked against the registry; else fetched from `$ZOO_PRESET_URL`), a preset
            folder (checked to hold a preset), or an http(s) URL ending in a registered
            name (each file fetched, checked and cached).

    Raises:
        PresetError: an unknown name, a folder that is not a preset, a file whose checksum
            differs, a file that could not be fetched.
    """
    handle = str(handle)
    if handle.startswith(("http://", "https://")):
        return _download(handle)
    folder = Path(handle).expanduser()
    if folder.is_dir():
        _check_layout(folder, handle)
        return folder
    entries = registry()
    if handle not in entries:
        raise PresetError(
            f"unknown preset {handle!r} (not a registered name or a folder); "
            f"available: {', '.join(sorted(entries))}"
        )
    local = CHECKOUT_PRESETS / handle
    if local.is_dir():
        _check_files(local, entries[handle]["files"], handle)
        return local
    base = os.environ.get("ZOO_PRESET_URL")
    if not base:
        raise PresetError(
            f"preset {handle!r} is not on this disk (no {CHECKOUT_PRESETS} folder) and "
            f"$ZOO_PRESET_URL, the address to fetch it from, is not set"
        )
    return _download(f"{base.rstrip('/')}/{handle}")


def load(handle: str | os.PathLike, expect: type | None = None) -> keras.Model:
    """The model the preset `handle` holds, whatever its class, with its trained weights.

    Args:
        handle: a registered name, a preset folder or a URL (see `path`).
        expect: a class the model must be an instance of (`from_preset` passes its own).

    Raises:
        PresetError: as `path`, and for a preset from a newer zoo, a config that builds no
            model, a model of another class, or weights that do not fit it.
    """
    import zoo  # noqa: F401  (registers zoo's classes, so the config can name them)

    folder = path(handle)
    metadata, config = (
        _read_json(folder / name, handle) for name in ("metadata.json", "config.json")
    )
    _check_version(metadata, handle)
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except (TypeError, ValueError) as error:
        raise PresetError(
            f"preset {handle!r}: its config.json does not build a model: {error}"
        ) from None
    if expect is not None and not isinstance(model, expect):
        raise PresetError(
            f"preset {handle!r} holds a {type(model).__name__}, not a {expect.__name__}; "
            f"zoo.presets.load({handle!r}) loads it as what it is"
        )
    _load_weights(model, folder / "model.weights.h5", handle)
    return model


class FromPreset:
    """Mixin for a zoo model: `Model.from_preset(handle)` (see `zoo.presets`)."""

    @classmethod
    def from_preset(cls, handle: str | os.PathLike):
        """The trained model a preset holds, with its weights, on any backend.

        Args:
            handle: a registered name (`zoo.presets.available()`), a preset folder, or an
                http(s) URL ending in a registered name.

        Returns:
            An instance of this class. Raises `PresetError` (one line) when the preset is
            unknown, damaged, of another class or from a newer zoo.
        """
        return load(handle, expect=cls)


def save(
    model: keras.Model,
    folder: str | os.PathLike,
    metadata: dict,
    card: str,
    assets: dict | None = None,
    float16: bool = False,
) -> dict[str, str]:
    """Write `model` as a preset (tools/export_preset.py calls this with a run's files).

    Args:
        model: the trained model.
        folder: where the preset goes: config.json (without compile settings),
            model.weights.h5 (no optimizer state), metadata.json, README.md, assets/.
        metadata: what metadata.json says besides the versions and parameter count.
        card: the model card (README.md).
        assets: {path under assets/: source file} (a translator's vocabularies).
        float16: store the weights as float16 (half the size; widened on loading).

    Returns:
        {relative path: sha256} of every file in the folder, for the registry.
    """
    import zoo

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    _save_weights(model, folder / "model.weights.h5", float16)
    metadata = {
        "zoo_version": zoo.__version__,
        "keras_version": keras.__version__,
        "parameters": int(model.count_params()),
        "weights_dtype": "float16" if float16 else "float32",
        **metadata,
    }
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(card, encoding="utf-8")
    for relative, source in (assets or {}).items():
        target = folder / "assets" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(source).read_bytes())
    return {
        str(file.relative_to(folder)): sha256(file)
        for file in sorted(folder.rglob("*"))
        if file.is_file()
    }


def sha256(file):
    digest = hashlib.sha256()
    with open(file, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Weights: Keras' own .weights.h5, without optimizer state, optionally stored as float16 ------


def _save_weights(model, file, float16):
    """`save_weights` of an uncompiled twin of `model` (no optimizer variables), its float32
    arrays stored as float16 if asked."""
    twin = keras.saving.deserialize_keras_object(
        {**keras.saving.serialize_keras_object(model), "compile_config": None}
    )
    twin.set_weights(model.get_weights())
    with tempfile.TemporaryDirectory() as scratch:
        full = Path(scratch) / "model.weights.h5"
        twin.save_weights(full)
        _copy_weights(full, file, np.float32, np.float16 if float16 else np.float32)


def _load_weights(model, file, handle):
    """Keras' `load_weights`, float16 arrays widened to float32 first."""
    with tempfile.TemporaryDirectory() as scratch:
        widened = Path(scratch) / "model.weights.h5"
        _copy_weights(file, widened, np.float16, np.float32)
        try:
            model.load_weights(widened)
        except (ValueError, KeyError, OSError) as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise PresetError(
                f"preset {handle!r}: its weights do not fit its model: {message}"
            ) from None


def _copy_weights(source_file, target_file, from_dtype, to_dtype):
    """Copy a .weights.h5 file (groups, attributes, arrays), arrays of `from_dtype` cast to
    `to_dtype`."""
    import h5py

    def copy(name, item):
        if isinstance(item, h5py.Group):
            copied = target.require_group(name)
        else:
            values = item[()]
            if values.dtype == from_dtype:
                values = values.astype(to_dtype)
            copied = target.create_dataset(name, data=values)
        copied.attrs.update(item.attrs)

    with h5py.File(source_file, "r") as source, h5py.File(target_file, "w") as target:
        target.attrs.update(source.attrs)
        source.visititems(copy)


# Checks: layout, checksums, version ------------------------------------------------------------


def _read_json(file, handle):
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PresetError(f"preset {handle!r}: {file} is not readable JSON ({error})") from None


def _check_layout(folder, handle):
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise PresetError(f"{handle}: not a zoo preset (missing {', '.join(missing)})")


def _check_files(folder, files, handle):
    _check_layout(folder, handle)
    for relative, expected in files.items():
        file = folder / relative
        if not file.is_file():
            raise PresetError(f"preset {handle!r}: {file} is missing")
        if sha256(file) != expected:
            raise PresetError(
                f"preset {handle!r}: {file} does not match its registered sha256 "
                f"(damaged, or changed without tools/export_preset.py)"
            )


def _version(text):
    return tuple(int(part) for part in str(text).split(".")[:3] if part.isdigit())


def _check_version(metadata, handle):
    import zoo

    written_by = metadata.get("zoo_version", "0")
    if _version(written_by) > _version(zoo.__version__):
        raise PresetError(
            f"preset {handle!r} was written by zoo {written_by}, newer than this zoo "
            f"{zoo.__version__}: upgrade zoo to load it"
        )


def _download(url):
    """Fetch every registered file of the preset the URL names, checked, into the cache."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    entries = registry()
    if name not in entries:
        raise PresetError(
            f"{url}: a preset URL must end in a registered name; "
            f"available: {', '.join(sorted(entries))}"
        )
    cache = Path(os.environ.get("ZOO_CACHE", Path.home() / ".cache" / "zoo"))
    folder = cache / "presets" / name / "folder"
    for relative, expected in entries[name]["files"].items():
        try:
            fetched = keras.utils.get_file(
                fname=relative.replace("/", "__"),
                origin=f"{url.rstrip('/')}/{relative}",
                file_hash=expected,
                hash_algorithm="sha256",
                cache_dir=str(cache),
                cache_subdir=f"presets/{name}/{expected[:12]}",
            )
        except ValueError as error:  # get_file's "Incomplete or corrupted file"
            raise PresetError(
                f"{url}/{relative}: does not match its registered sha256 ({error})"
            ) from None
        except Exception as error:  # noqa: BLE001  (urllib's many network errors)
            raise PresetError(f"{url}/{relative}: could not be fetched: {error}") from None
        target = folder / relative  # the preset's layout, assets/ included
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        target.write_bytes(Path(fetched).read_bytes())
    _check_layout(folder, url)
    return folder
