"""zoo.presets: handles (name, folder, URL), the checks that end in one line, and every
shipped preset tested in keras-hub's style: it loads, its outputs on fixed inputs match the
values stored in preset_outputs.json (first values and shape, within 1e-3), and a reload from
`save` gives the same outputs.

After a preset is exported or replaced, store its expected outputs again:

    KERAS_BACKEND=jax python tests/test_presets.py
"""

import functools
import http.server
import importlib.util
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import finished_runs
import in_process
import keras
import numpy as np
import pytest

import zoo
from zoo import presets

EXPECTED_FILE = Path(__file__).with_name("preset_outputs.json")
FIRST_VALUES = 8


# A tiny preset, written by the test ------------------------------------------------------------


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A tiny DCGAN saved as the registered preset "tiny_gan" in a private registry and
    presets folder; returns (model, folder)."""
    model = zoo.DCGAN(image_size=16, latent_dim=4, filters=(4, 8), discriminator_filters=(4, 8))
    model(np.zeros((1, 4), "float32"))
    folder = tmp_path / "presets" / "tiny_gan"
    files = presets.save(model, folder, {"data": "none"}, "# tiny\n")
    registry = tmp_path / "registry.json"
    registry.write_text(
        json.dumps({"tiny_gan": {"class": "DCGAN", "description": "t", "files": files}})
    )
    monkeypatch.setattr(presets, "REGISTRY_FILE", registry)
    monkeypatch.setattr(presets, "CHECKOUT_PRESETS", tmp_path / "presets")
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ZOO_PRESET_URL", raising=False)
    return model, folder


def images(model, seed=0):
    z = np.random.default_rng(seed).normal(size=(2, model.latent_dim)).astype("float32")
    return keras.ops.convert_to_numpy(model(z))


def test_a_registered_name_loads_the_same_model(tiny):
    model, _ = tiny
    assert presets.available() == ["tiny_gan"]
    loaded = zoo.DCGAN.from_preset("tiny_gan")
    np.testing.assert_allclose(images(loaded), images(model), atol=1e-6)
    assert isinstance(presets.load("tiny_gan"), zoo.DCGAN)


def test_a_folder_loads_and_metadata_says_what_it_is(tiny):
    model, folder = tiny
    np.testing.assert_allclose(images(presets.load(folder)), images(model), atol=1e-6)
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["zoo_version"] == zoo.__version__
    assert metadata["parameters"] == model.count_params()
    assert "compile_config" not in json.loads((folder / "config.json").read_text())


def test_an_unknown_name_lists_the_available_ones(tiny):
    with pytest.raises(presets.PresetError, match="unknown preset 'nope'.*available: tiny_gan"):
        presets.path("nope")


def test_a_folder_that_is_not_a_preset(tiny, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(presets.PresetError, match="not a zoo preset .missing config.json"):
        presets.load(tmp_path / "empty")


def test_a_changed_file_fails_its_checksum(tiny):
    _, folder = tiny
    with open(folder / "model.weights.h5", "r+b") as weights:
        weights.seek(-8, 2)
        weights.write(b"\x00" * 8)
    with pytest.raises(presets.PresetError, match="does not match its registered sha256"):
        presets.path("tiny_gan")


def test_a_preset_from_a_newer_zoo_is_refused(tiny):
    _, folder = tiny
    metadata = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**metadata, "zoo_version": "99.0.0"}))
    with pytest.raises(presets.PresetError, match="written by zoo 99.0.0, newer than"):
        presets.load(folder)


def test_a_damaged_metadata_file_is_named(tiny):
    _, folder = tiny
    (folder / "metadata.json").write_text("{not json")
    with pytest.raises(presets.PresetError, match="metadata.json is not readable JSON"):
        presets.load(folder)


def test_the_wrong_class_says_what_the_preset_holds(tiny):
    with pytest.raises(presets.PresetError, match="holds a DCGAN, not a VAE"):
        zoo.VAE.from_preset("tiny_gan")


def test_a_name_not_on_disk_needs_an_address(tiny):
    shutil.rmtree(tiny[1])
    with pytest.raises(presets.PresetError, match="not on this disk.*ZOO_PRESET_URL"):
        presets.path("tiny_gan")


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served; yields its base URL."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(
        type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None}),
        directory=str(served),
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_url_is_fetched_checked_and_cached(tiny, server, tmp_path):
    model, folder = tiny
    served, url = server
    shutil.copytree(folder, served / "tiny_gan")
    loaded = presets.load(f"{url}/tiny_gan")
    np.testing.assert_allclose(images(loaded), images(model), atol=1e-6)
    assert presets.path(f"{url}/tiny_gan").is_relative_to(tmp_path / "cache")
    shutil.rmtree(served / "tiny_gan")  # now from the cache alone
    assert isinstance(presets.load(f"{url}/tiny_gan"), zoo.DCGAN)


def test_a_registered_name_falls_back_to_the_address(tiny, server, monkeypatch):
    model, folder = tiny
    served, url = server
    shutil.move(folder, served / "tiny_gan")
    monkeypatch.setenv("ZOO_PRESET_URL", url)
    np.testing.assert_allclose(images(presets.load("tiny_gan")), images(model), atol=1e-6)


def test_a_url_whose_file_differs_is_refused(tiny, server):
    _, folder = tiny
    served, url = server
    shutil.copytree(folder, served / "tiny_gan")
    (served / "tiny_gan" / "config.json").write_text("{}")
    with pytest.raises(presets.PresetError, match="config.json: does not match its registered"):
        presets.path(f"{url}/tiny_gan")


def test_a_url_must_name_a_registered_preset(tiny, server):
    with pytest.raises(presets.PresetError, match="must end in a registered name"):
        presets.path(f"{server[1]}/other")


# From a run to a preset, and back into a recipe -----------------------------------------------

ROOT = Path(__file__).parents[1]
# Each recipe's tiny run on its built-in data (the session's shared run, tests/finished_runs.py,
# except seq2seq's), and (for two of them) flags that change the model, with what the refusal
# must name.
SEQ2SEQ_FLAGS = "--embedding-dim 8 --units 16 --synthetic-pairs 60 --batch-size 16 --beam-width 2"
OTHER_SHAPE = {
    "gan": (["--latent-dim", "5"], "latent_dim 5 here, 100 in the preset"),
    # vae: the shape check is run.start_from_preset's, tried with the gan and the CNN
    "cats_vs_dogs": (["--cnn", "small"], "holds a CompactCNN, not a SmallCNN"),
}


def run_script(tmp_path, script, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=finished_runs.environment(tmp_path),
    )


def export_tool():
    """tools/export_preset.py as a module."""
    spec = importlib.util.spec_from_file_location("export_preset", ROOT / "tools/export_preset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # a recipe's run, exported, and two runs from it
@pytest.mark.parametrize(
    "recipe",
    [
        pytest.param(recipe, marks=finished_runs.group(recipe) if recipe != "seq2seq" else ())
        for recipe in sorted({*finished_runs.RUNS, "seq2seq"})
    ],
)
def test_a_run_becomes_a_preset_that_a_recipe_fine_tunes(
    recipe, tmp_path, monkeypatch, capsys, finished_run
):
    if recipe == "seq2seq":
        tiny, run = SEQ2SEQ_FLAGS.split(), tmp_path / "run"
        result = run_script(
            tmp_path, "recipes/seq2seq.py", *tiny, "--epochs", "1", "--out", str(run)
        )
        assert result.returncode == 0, result.stderr[-3000:]
    else:
        tiny, _ = finished_runs.RUNS[recipe]
        run, _ = finished_run(recipe)
    exported, registry = tmp_path / "presets", tmp_path / "registry.json"
    # The export tool runs in this process: a subprocess would import the backend twice more.
    export_preset = export_tool()
    export = [str(run), "tiny", "--presets", str(exported), "--registry", str(registry)]
    export_preset.main(export)
    card = (exported / "tiny" / "README.md").read_text()
    assert f"python recipes/{recipe}.py" in card and "## Not good for" in card
    files = json.loads(registry.read_text())["tiny"]["files"]
    assert {"config.json", "model.weights.h5", "metadata.json", "README.md"} <= set(files)
    metadata = json.loads((exported / "tiny" / "metadata.json").read_text())
    assert metadata["backend"] == keras.backend.backend() and metadata["parameters"] > 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:
        export_preset.main(export)
    assert refused.value.code == 2 and "pass --replace" in capsys.readouterr().err

    preset = str(exported / "tiny")
    tuned = tmp_path / "tuned"
    arguments = [*tiny, "--epochs", "1", "--from-preset", preset]
    result = run_script(tmp_path, f"recipes/{recipe}.py", *arguments, "--out", str(tuned))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Starting from preset {preset}'s weights" in result.stdout
    if recipe not in OTHER_SHAPE:
        return
    other_shape, named = OTHER_SHAPE[recipe]
    wrong = tmp_path / "wrong"
    argv = [*arguments, *other_shape, "--out", wrong]  # stops before training: in this process
    result = in_process.run_recipe(recipe, argv, monkeypatch, capsys, home=tmp_path)
    assert result.returncode == 2 and named in result.stderr, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and not wrong.exists()


# Every shipped preset --------------------------------------------------------------------------


def fixed_outputs(model, name, expected=None):
    """The preset's outputs on fixed inputs: a classifier's probabilities for two seeded
    images, a generator's images for two seeded latents, a translator's logits for the
    stored sentence's first decoding step."""
    rng = np.random.default_rng(0)
    if isinstance(model, zoo.translation.Translator):
        sentence = (expected or {}).get("sentence") or first_test_sentence(name)
        source = np.asarray([model.encode([sentence])[0]], "int32")
        target = np.asarray([[model.target_vocab.start]], "int32")
        return keras.ops.convert_to_numpy(model.model([source, target])), sentence
    if isinstance(model, zoo.CompactCNN):
        size = model.image_size
        x = rng.uniform(0, 255, size=(2, size, size, 3)).astype("float32")
        return keras.ops.convert_to_numpy(model(x)), None
    z = rng.normal(size=(2, model.latent_dim)).astype("float32")
    out = model.decode(z) if isinstance(model, zoo.VAE) else model(z)
    return keras.ops.convert_to_numpy(out), None


def first_test_sentence(name):
    """The first source sentence of the preset's examples.md (its run's test split)."""
    rows = (presets.path(name) / "examples.md").read_text(encoding="utf-8").splitlines()
    return rows[2].split(" | ")[0].lstrip("| ")


def load_shipped(name):
    if presets.registry()[name]["class"] in ("Transformer", "Seq2SeqAttention"):
        return zoo.translation.Translator.from_preset(name)
    return presets.load(name)


SHIPPED = presets.available()


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_preset_gives_its_stored_outputs(name):
    expected = json.loads(EXPECTED_FILE.read_text())[name]
    model = load_shipped(name)
    outputs, _ = fixed_outputs(model, name, expected)
    assert list(outputs.shape) == expected["shape"]
    np.testing.assert_allclose(outputs.ravel()[:FIRST_VALUES], expected["first"], atol=1e-3)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_preset_reloads_from_save(name, tmp_path):
    model = load_shipped(name)
    keras_model = model.model if isinstance(model, zoo.translation.Translator) else model
    keras_model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    if isinstance(model, zoo.translation.Translator):
        reloaded = zoo.translation.Translator(
            reloaded, model.source_vocab, model.target_vocab, model.max_length
        )
    np.testing.assert_allclose(
        fixed_outputs(reloaded, name)[0], fixed_outputs(model, name)[0], atol=1e-6
    )


def test_every_shipped_preset_is_registered_with_its_files():
    folder = presets.CHECKOUT_PRESETS
    on_disk = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []
    assert on_disk == SHIPPED
    expected = json.loads(EXPECTED_FILE.read_text())
    assert sorted(expected) == SHIPPED, "run tests/test_presets.py to store their outputs"
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if on_disk else 0
    assert total < 60e6, f"presets take {total / 1e6:.1f} MB"


def store_expected_outputs():
    """Write preset_outputs.json from the presets as they are now."""
    stored = {}
    for name in SHIPPED:
        outputs, sentence = fixed_outputs(load_shipped(name), name)
        stored[name] = {
            "shape": list(outputs.shape),
            "first": [float(v) for v in outputs.ravel()[:FIRST_VALUES]],
            **({"sentence": sentence} if sentence else {}),
        }
        print(f"{name}: {outputs.shape}")
    EXPECTED_FILE.write_text(json.dumps(stored, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(store_expected_outputs())
