"""Every numeric flag of every recipe is checked before anything is written: a bad value gives
argparse's one `error: argument --flag: ...` line, exit code 2 and no run directory.

The recipes run in this process (`runpy`) up to their `training.start`, which stops them on
the bad value, so the whole table takes seconds."""

import argparse

import in_process
import pytest

from zoo import training

SCRIPTS = ("attention", "cats_vs_dogs", "flower_classifier", "gan", "seq2seq", "transformer", "vae")


def run_recipe(name, argv, monkeypatch, capsys):
    """Run recipes/`name`.py with `argv` until it exits -> (exit code, stderr)."""
    result = in_process.run_recipe(name, argv, monkeypatch, capsys)
    return result.returncode, result.stderr


def parser_of(name, monkeypatch, capsys):
    """The recipe's `argparse` parser, as it hands it to `training.start`."""
    seen = []

    def capture(parser, argv=None, check=None):
        seen.append(parser)
        raise SystemExit(0)

    monkeypatch.setattr(training, "start", capture)
    run_recipe(name, [], monkeypatch, capsys)
    monkeypatch.undo()
    return seen[0]


def numeric_flags():
    """(recipe, flag, invalid value) for every flag whose type has an `invalid` example."""
    cases = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in SCRIPTS:
            parser = parser_of(name, monkeypatch, _NoCapture())
            for action in parser._actions:
                example = getattr(action.type, "invalid", None)
                if example is not None:
                    cases.append((name, action.option_strings[0], example))
    return cases


class _NoCapture:
    @staticmethod
    def readouterr():
        return argparse.Namespace(out="", err="")


def test_no_recipe_flag_takes_an_unchecked_number(monkeypatch, capsys):
    for name in SCRIPTS:
        parser = parser_of(name, monkeypatch, capsys)
        unchecked = [
            action.option_strings[0] for action in parser._actions if action.type in (int, float)
        ]
        assert not unchecked, f"recipes/{name}.py: flags without a range check: {unchecked}"


@pytest.mark.parametrize("name, flag, value", numeric_flags())
def test_every_numeric_flag_refuses_a_bad_value_before_writing(
    name, flag, value, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "run"
    code, err = run_recipe(name, [flag, value, "--out", str(out)], monkeypatch, capsys)
    assert code == 2
    assert f"error: argument {flag}" in err
    assert len(err.strip().splitlines()[-1]) < 200 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    "name, argv, message",
    [
        # the values a person mistyped (issue 43), each once a traceback or a nonsense run
        ("vae", ["--batch-size", "0"], "argument --batch-size: must be an integer >= 1"),
        ("vae", ["--val-fraction", "1.5"], "argument --val-fraction: must be between 0 and 1"),
        ("gan", ["--image-size", "7"], "argument --image-size: must be a multiple of 8"),
        ("transformer", ["--beam-width", "0"], "argument --beam-width: must be an integer >= 1"),
        ("vae", ["--epochs", "-3"], "argument --epochs: must be an integer >= 1"),
        ("gan", ["--latent-dim", "0"], "argument --latent-dim: must be an integer >= 1"),
        ("transformer", ["--max-length", "0"], "argument --max-length: must be an integer >= 1"),
        ("cats_vs_dogs", ["--image-size", "0"], "argument --image-size: must be an integer >= 32"),
        # what depends on several flags, and values that are no numbers at all
        (
            "gan",
            ["--image-size", "40", "--filters", "8", "8", "8", "8"],
            "argument --image-size: must be a multiple of 16",
        ),
        ("flower_classifier", ["--image-size", "8"], "argument --image-size: must be at least 16"),
        # the generator draws 8 px from 1x1, the four-stage discriminator needs 16 at least
        ("gan", ["--image-size", "8"], "argument --image-size: must be at least 16 for 4 stride-2"),
        ("transformer", ["--d-model", "63"], "argument --d-model: 63 does not split into"),
        ("gan", ["--augment", "colour,spin"], "argument --augment: unknown 'spin'"),
        ("gan", ["--adaptive-augment"], "argument --adaptive-augment: tunes how often"),
        ("seq2seq", ["--units", "many"], "argument --units: must be an integer, got 'many'"),
        ("vae", ["--learning-rate", "nan"], "argument --learning-rate: must be a number > 0"),
    ],
)
def test_the_mistyped_values_end_in_one_line(name, argv, message, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    code, err = run_recipe(name, [*argv, "--out", str(out)], monkeypatch, capsys)
    assert code == 2
    assert message in err
    assert not out.exists()
