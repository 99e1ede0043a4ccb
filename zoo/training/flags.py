"""A recipe's command line: the flags every recipe shares, and argument types that check a
value's range while parsing, so that a bad value ends in argparse's one line (`error:
argument --batch-size: ...`, exit code 2) before anything is written.

    parser = training.make_parser("vae", __doc__, epochs=30, batch_size=64)
    parser.add_argument("--latent-dim", type=training.positive_int, default=128)
    parser.add_argument("--val-fraction", type=training.fraction, default=0.1)
"""

import argparse
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "at_least",
    "constructor_defaults",
    "fraction",
    "make_parser",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "unit_interval",
]


def _number(text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        name = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"must be {name}, got {text!r}") from None


def at_least(minimum: int) -> Callable[[str], int]:
    """An argument type: an integer >= `minimum` (e.g. `at_least(1)` for a beam width).

    Args:
        minimum: the smallest value taken.

    Returns:
        For `add_argument(type=)`: the text -> the integer, or argparse's error.
    """

    def parse(text: str) -> int:
        value = _number(text, int)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    parse.invalid = str(minimum - 1)  # an example of a bad value, for the flag tests
    return parse


positive_int = at_least(1)
non_negative_int = at_least(0)


def positive_float(text: str) -> float:
    """An argument type: a finite number > 0 (a learning rate, minutes)."""
    value = _number(text, float)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


positive_float.invalid = "0"


def non_negative_float(text: str) -> float:
    """An argument type: a finite number >= 0 (a loss weight)."""
    value = _number(text, float)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


non_negative_float.invalid = "-1"


def fraction(text: str) -> float:
    """An argument type: a number strictly between 0 and 1 (a held-out share)."""
    value = _number(text, float)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text!r}")
    return value


fraction.invalid = "1.5"


def unit_interval(text: str) -> float:
    """An argument type: a number in [0, 1) (a dropout rate, a moving average's momentum,
    label smoothing)."""
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 0 and < 1, got {text!r}")
    return value


unit_interval.invalid = "1"


def make_parser(
    name: str,
    description: str | None,
    *,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    presets: bool = True,
) -> argparse.ArgumentParser:
    """An `argparse.ArgumentParser` holding the shared flags, with this recipe's defaults.

    Args:
        name: the recipe's, as in `recipes/{name}.py` and the default run directory.
        description: the help's text (the recipe's `__doc__`).
        epochs: the default of `--epochs`.
        batch_size: the default of `--batch-size`.
        seed: the default of `--seed`.
        presets: whether the recipe's models can start from a preset (`--from-preset`).
    """
    parser = argparse.ArgumentParser(
        prog=f"recipes/{name}.py",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(recipe=name)
    shared = parser.add_argument_group("shared by every recipe")
    shared.add_argument(
        "--data",
        type=Path,
        default=None,
        help="real data: a folder or the original archive/file; "
        "omitted: the built-in synthetic data set",
    )
    shared.add_argument(
        "--out", type=Path, default=None, help=f"run directory (default: runs/{name}-<date>-<time>)"
    )
    shared.add_argument("--epochs", type=positive_int, default=epochs, help="default: %(default)s")
    shared.add_argument(
        "--batch-size", type=positive_int, default=batch_size, help="default: %(default)s"
    )
    shared.add_argument(
        "--seed",
        type=non_negative_int,
        default=seed,
        help="seeds Python, NumPy and the backend (default: %(default)s)",
    )
    shared.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run in --out from its last finished epoch",
    )
    shared.add_argument(
        "--time-limit",
        type=positive_float,
        default=None,
        metavar="MINUTES",
        help="stop a fit before its training time (summed epoch times, across "
        "--resume) would pass this many minutes; default: no limit",
    )
    shared.add_argument(
        "--distribute",
        "--data-parallel",
        dest="distribute",
        action="store_true",
        help="train data-parallel over every device and process, on the "
        "backend's own engine (see zoo/distribute.py and the README)",
    )
    if presets:
        shared.add_argument(
            "--from-preset",
            metavar="NAME",
            default=None,
            help="start from a preset's weights (a registered name, folder or URL: "
            "zoo.presets) and fine-tune them; the model's flags must match the preset's",
        )
    shared.add_argument(
        "--allocator",
        choices=("keep", "system"),
        default="keep",
        help="'keep' (default): glibc keeps freed memory for the next step "
        "(zoo.keep_freed_memory, faster on Linux); 'system': the C "
        "library's defaults",
    )
    return parser


def constructor_defaults(model_class: type) -> dict[str, Any]:
    """{argument: default} of a model's constructor: where a recipe takes its flags'
    defaults, so that the recipe trains what `model_class()` builds.

    Args:
        model_class: a zoo model's class (`zoo.DCGAN`, say).
    """
    parameters = inspect.signature(model_class.__init__).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
