"""Renamed `zoo.training` (a name apart from the recipes/ folder); this alias goes in the next
release. The flower scripts' own helpers (add_flower_arguments, load_flowers, the KID
extractor) moved to recipes/flowers_common.py."""

import warnings

from zoo.training import *  # noqa: F403
from zoo.training import __all__  # noqa: F401

warnings.warn(
    "zoo.recipe is now zoo.training; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
