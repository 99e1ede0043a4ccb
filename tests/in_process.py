"""A recipe run inside the test's own process (`runpy`), for the checks that stop it before it
trains: each such run then costs no new interpreter and no backend import (seconds apiece)."""

import runpy
import subprocess
import sys
from pathlib import Path

RECIPES = Path(__file__).parents[1] / "recipes"


def run_recipe(name, argv, monkeypatch, capsys, home=None):
    """Run recipes/`name`.py with `argv` as its command line until it ends -> a
    `subprocess.CompletedProcess` with the exit code, standard output and error it would have
    had as a process of its own. With `home`, its zoo cache and Keras home are in that folder
    (empty: nothing of the user's is read or written)."""
    if home is not None:
        monkeypatch.setenv("ZOO_CACHE", str(home / "cache"))
        monkeypatch.setenv("KERAS_HOME", str(home))
    script = str(RECIPES / f"{name}.py")
    monkeypatch.setattr(sys, "argv", [script, *map(str, argv)])
    monkeypatch.syspath_prepend(str(RECIPES))  # flowers_common, translation_common
    capsys.readouterr()
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as stopped:
        code = stopped.code
        if isinstance(code, str):  # sys.exit("message"): the interpreter prints it, exits 1
            print(code, file=sys.stderr)
            code = 1
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code or 0, captured.out, captured.err)
