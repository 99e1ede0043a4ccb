"""A recipe's run: parse its flags, seed everything, open its directory, fit resumably and
write its report (see `zoo.training`)."""

import argparse
import atexit
import csv
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import keras
import numpy as np

from zoo import distribute, internals, plots
from zoo.memory import keep_freed_memory, peak_memory_mib
from zoo.training.callbacks import EpochClock, is_sample_quality
from zoo.training.files import format_value, jsonable, save_model, write_json, write_text
from zoo.training.state import TrainingState, TrainingStateError

__all__ = ["Run", "set_random_seed", "start"]


def start(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None = None,
    check: Callable[[argparse.Namespace], str | None] | None = None,
) -> "Run":
    """Parse the flags and open the run: the one call at the top of every recipe.

    Each flag's own range is checked while parsing (`zoo.training.flags`' argument types);
    `check` checks what depends on several flags (an image size the networks can take, a
    width the heads divide). Any bad value ends in argparse's one `error:` line and exit code
    2, before the run directory exists.

    Args:
        parser: from `make_parser`, with the recipe's own flags added.
        argv: the arguments; None: the command line's.
        check: the parsed flags -> a message naming what is wrong, or None.

    Returns:
        The `Run`, its config.json written and its seeds set.
    """
    config = parser.parse_args(argv)
    try:
        cluster = distribute.setup() if config.distribute else distribute.current()
    except internals.InternalMissing as error:  # a Keras without what --distribute mends
        parser.error(f"--distribute: {error}")
    if not cluster.writer:  # process 0 reports and writes the run directory; the others not
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (for the life of the process)
    if cluster.process_count > 1 and config.time_limit is not None:
        parser.error(
            "--time-limit with several processes: each would decide alone when to "
            "stop, and the others would wait for it forever; give --epochs instead"
        )
    if config.resume:
        if config.out is None:
            parser.error("--resume needs --out DIR, the run directory to continue")
        config = _resumed_config(parser, config, sys.argv[1:] if argv is None else argv)
    else:
        if config.out is None:
            config.out = Path("runs") / f"{config.recipe}-{time.strftime('%Y%m%d-%H%M%S')}"
        if cluster.writer and (config.out / "config.json").exists():
            parser.error(
                f"{config.out} already holds a run: pass --resume to continue it, "
                f"or choose another --out"
            )
    problem = check(config) if check is not None else None
    if problem:
        parser.error(problem)
    if config.allocator == "keep":
        keep_freed_memory()
    set_random_seed(config.seed)
    run_dir = Path(config.out) if cluster.writer else _private_run_dir(config, cluster)
    run = Run(config, run_dir)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(config).items()}
    write_json(run.path("config.json"), {"settings": settings, "environment": run.environment})
    print(f"[{config.recipe}] backend={run.environment['backend']} run directory={run.dir}")
    if config.distribute:
        print(f"  distributed: {cluster.describe()}")
    print("  " + json.dumps(settings, sort_keys=True))
    return run


def cpu_name() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it (else `platform.processor()`)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """What a run was measured on: "AMD EPYC, 2 cores, AVX-512" (cores: those it may use)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpuinfo = Path("/proc/cpuinfo")
    avx512 = cpuinfo.exists() and " avx512f" in cpuinfo.read_text()
    return f"{cpu_name()}, {cores} core{'s' if cores != 1 else ''}" + (
        ", AVX-512" if avx512 else ""
    )


def set_random_seed(seed: int) -> None:
    """`keras.utils.set_random_seed` without loading TensorFlow on the other backends: seeds
    Python's `random`, NumPy's global generator, the backend and Keras' global seed generator
    (`zoo.internals.seed_without_tensorflow`)."""
    internals.seed_without_tensorflow(seed)


def _private_run_dir(config, cluster):
    """A run directory for a process that is not the writer: a temporary folder, removed at
    exit, that starts as a copy of the run being resumed (its training state), so that the
    process reads what process 0 reads and writes nothing into the run itself."""
    folder = Path(tempfile.mkdtemp(prefix=f"zoo-process{cluster.process_index}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    if config.resume:  # not the files process 0 is writing now (written beside, renamed)
        shutil.copytree(
            config.out,
            folder,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("*.partial", "*.partial.*"),
        )
    return folder


def _resumed_config(parser, config, argv):
    """The settings of the run in --out, with --epochs changed only if it was given."""
    saved_path = config.out / "config.json"
    if not saved_path.exists():
        parser.error(f"--resume: {saved_path} does not exist, so there is no run to continue")
    if (config.out / "report.md").exists():
        parser.error(
            f"--resume: the run in {config.out} has already finished "
            f"(report.md is there); start a new run with another --out"
        )
    saved = json.loads(saved_path.read_text())["settings"]
    epochs_given = any(arg == "--epochs" or arg.startswith("--epochs=") for arg in argv)
    change = (
        f" (epochs changed from {saved['epochs']} to {config.epochs})"
        if epochs_given and config.epochs != saved["epochs"]
        else ""
    )
    print(f"Resuming {config.out} with the settings of its config.json{change}")
    newer = sorted(set(vars(config)) - set(saved) - {"resume", "out"})
    if newer:  # flags added since the run started: say what they take
        print(
            "  not in its config.json (flags newer than the run), so at their defaults: "
            + ", ".join(f"{key}={getattr(config, key)!r}" for key in newer)
        )
    for key, value in saved.items():
        if key not in ("resume", "out") and not (key == "epochs" and epochs_given):
            setattr(config, key, Path(value) if key == "data" and value else value)
    return config


class Run:
    """One recipe run: its settings (`config`) and its directory (`dir`).

    A recipe that trains several models gives each a `stage(name)`: a Run of its own in a
    subdirectory (history, backup, curves, model, report), sharing the settings.

    Args:
        config: the parsed flags.
        run_dir: the run directory, made if missing.
    """

    def __init__(self, config: argparse.Namespace, run_dir: str | Path):
        self.config = config
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.created_here = not any(self.dir.iterdir())
        self.started = time.time()
        self.environment = {
            "backend": keras.backend.backend(),
            "keras": keras.__version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "command": " ".join(sys.argv),
            "machine": machine(),
        }

    def stage(self, name: str) -> "Run":
        """The sub-run in DIR/name for one of several models a recipe trains."""
        return Run(self.config, self.dir / name)

    @property
    def finished(self) -> bool:
        """True once `finish` has written report.md (a resumed run skips finished stages)."""
        return self.path("report.md").exists()

    def abort(self, message: str) -> NoReturn:
        """Stop the recipe on bad input: print why, exit 2, and leave no half-made run behind
        (the run directory goes if this run created it)."""
        if self.created_here:
            shutil.rmtree(self.dir)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)

    def start_from_preset(self, model: keras.Model) -> keras.Model:
        """With --from-preset: the preset's weights copied into `model`, which must be of its
        class and shapes (a flag that differs is named); the run then fine-tunes them."""
        handle = getattr(self.config, "from_preset", None)
        if handle is None:
            return model
        from zoo import presets

        try:
            preset = presets.load(handle, expect=type(model))
        except presets.PresetError as error:
            self.abort(f"--from-preset: {error}")
        if not model.built:
            model.build_from_config(preset.get_build_config())
        ours, theirs = model.get_config(), preset.get_config()
        if [tuple(w.shape) for w in model.weights] != [tuple(w.shape) for w in preset.weights]:
            differ = [
                f"{key} {ours.get(key)!r} here, {theirs.get(key)!r} in the preset"
                for key in sorted(set(ours) | set(theirs))
                if key not in ("name", "seed", "dtype", "trainable")
                and ours.get(key) != theirs.get(key)
            ]
            self.abort(
                f"--from-preset {handle}: its {type(preset).__name__} has other shapes than "
                f"this run's ({'; '.join(differ) or 'its vocabularies differ'})"
            )
        model.set_weights(preset.get_weights())
        print(f"Starting from preset {handle}'s weights", flush=True)
        return model

    @property
    def verbose(self) -> int:
        """`verbose` for fit/predict: progress bars in a terminal, one line per epoch in a log."""
        return 1 if sys.stdout.isatty() else 2

    def elapsed(self) -> float:
        """Seconds since this run (or stage) was opened in this process."""
        return time.time() - self.started

    def path(self, name: str) -> Path:
        """A file in the run directory, for a recipe's own outputs."""
        return self.dir / name

    def fit(
        self,
        model: keras.Model,
        x: Any,
        *,
        epochs: int,
        callbacks: Sequence[keras.callbacks.Callback] = (),
        backup: str = "backup",
        save: bool = True,
        **kwargs: Any,
    ) -> keras.callbacks.History | None:
        """`model.fit(x, epochs=epochs, **kwargs)`, resumable, then `model.keras` saved.

        Adds the callbacks every recipe's fit uses (`EpochClock`, the recipe's own
        `callbacks`, `CSVLogger` to history.csv, `TrainingState` in DIR/`backup`). After an
        interruption, `--resume` continues from the last finished epoch with the state the
        uninterrupted run had: weights, optimizer slots, learning-rate step, every seed
        generator and, for `x` a `zoo.datasets.EpochBatches`, the data order. The model is
        saved (`save`) as soon as training ends; a run interrupted later, in its evaluation,
        resumes with the trained state instead of training again. A second fit in the same
        run (fine-tuning after a frozen stage) names its own `backup` folder.

        Args:
            model: compiled.
            x: what `model.fit` takes: arrays, a `keras.utils.PyDataset`, an `EpochBatches`.
            epochs: the fit's last epoch, counted from the run's start (across --resume).
            callbacks: the recipe's own, besides those above.
            backup: the training state's folder in the run directory.
            save: write model.keras when training ends.
            **kwargs: for `model.fit` (`validation_data`, ...).

        Returns:
            The `History`, or None when the training had already finished.
        """
        try:
            state = TrainingState(self.dir / backup, data=x)
            trained = state.finished(epochs)
            if trained:
                state.restore(model, optimizer=False)
        except TrainingStateError as error:
            self.abort(str(error))
        if trained:
            print(
                f"Training finished before the interruption ({state.saved_epoch} epochs): "
                f"continuing with the trained model from {state.path}"
            )
            return None
        self._trim_history(state.saved_epoch)
        kwargs["initial_epoch"] = state.saved_epoch  # 0, or the epoch the state was saved at
        if state.data is not None:  # it orders its epochs itself: Keras would also shuffle
            kwargs["shuffle"] = False  # its batches, with Python's global `random`
        limit = self.config.time_limit
        cluster = distribute.current()  # validation data stay whole: every process
        try:  # measures all of them, so the numbers are those of one process
            history = model.fit(
                cluster.shard(x),
                epochs=epochs,
                verbose=self.verbose,
                callbacks=[
                    *cluster.callbacks(),  # first: the loggers after it see averaged metrics
                    EpochClock(
                        None if limit is None else limit * 60, already=self.training_seconds()
                    ),
                    # before CSVLogger, which logs what they add (epoch_seconds, kid);
                    # a None among them is left out
                    *(callback for callback in callbacks if callback is not None),
                    keras.callbacks.CSVLogger(str(self.dir / "history.csv"), append=True),
                    state,  # after CSVLogger: an epoch counts as done once its row is written
                ],
                **kwargs,
            )
        except TrainingStateError as error:  # a saved state this model can not take
            self.abort(str(error))
        if save:
            save_model(model, self.path("model.keras"))
            print(f"Training done; the model is in {self.path('model.keras')}", flush=True)
        return history

    def _trim_history(self, epochs):
        """Keep history.csv's rows of the first `epochs` epochs: later rows (an epoch logged
        before an interruption but not in the backup, a half-written line) are redone."""
        path = self.dir / "history.csv"
        if not path.exists():
            return
        with open(path, newline="") as f:
            lines = f.read().splitlines(keepends=True)
        header = next(csv.reader(lines[:1]), [])
        kept = [
            line
            for line in lines[1:]
            if line.endswith("\n")
            and len(row := next(csv.reader([line]))) == len(header)
            and int(row[0]) < epochs
        ]
        if kept:
            write_text(path, "".join(lines[:1] + kept))
        else:
            path.unlink()

    def history(self):
        """The per-epoch metrics of the whole run so far, across resumes: {name: [values]}."""
        path = self.dir / "history.csv"
        if not path.exists():
            return {}
        rows = {}
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                # An epoch logged just before an interruption and logged again after
                # resuming appears twice; the later row is the one that was kept.
                rows[int(row["epoch"])] = row
        history = {}
        for epoch in sorted(rows):
            for name, value in rows[epoch].items():
                if name != "epoch":
                    history.setdefault(name, []).append(float("nan" if value == "NA" else value))
        # CSVLogger writes "NA" for a val_ column when fit() has no validation data.
        return {name: values for name, values in history.items() if not np.isnan(values).all()}

    def training_seconds(self) -> float:
        """The run's training time so far: its epochs' wall times (EpochClock) summed over
        history.csv, across --resume."""
        return sum(self.history().get("epoch_seconds", []))

    def finish(
        self,
        model: keras.Model | None = None,
        final: dict[str, Any] | None = None,
        report: str = "",
        title: str | None = None,
    ) -> None:
        """Write metrics.json, curves.png, model.keras and report.md; print where they are.

        Args:
            model: saved as model.keras; None: none is written.
            final: the run's final metrics: numbers, or arrays that go to metrics.json only.
            report: extra Markdown for report.md (the recipe's own tables and pictures).
            title: of the plots and the report; None: the plots have none, the report the
                recipe's name.
        """
        history = self.history()
        final = {k: jsonable(v) for k, v in (final or {}).items()}
        if model is not None:
            save_model(model, self.path("model.keras"))
        peak = peak_memory_mib()  # the process's, so a stage's includes the stages before it
        peak = None if peak is None else round(peak)
        write_json(
            self.path("metrics.json"), {"history": history, "final": final, "peak_memory_mib": peak}
        )
        if history:
            curves = {
                k: v
                for k, v in history.items()
                if k not in ("epoch_seconds", "learning_rate") and not is_sample_quality(k)
            }
            plots.plot_curves(curves, self.path("curves.png"), title=title)
        if "kid" in history:
            plots.plot_kid(history, self.path("kid.png"), title=title)
        minutes = self.elapsed() / 60
        memory = "" if peak is None else f", peak memory {peak:,} MiB"
        lines = [
            f"# {title or self.config.recipe}",
            "",
            f"`{self.environment['command']}` on the **{self.environment['backend']}** backend "
            f"(Keras {self.environment['keras']}), {minutes:.1f} min in this session{memory}.",
            "",
        ]
        scalars = {k: v for k, v in final.items() if not isinstance(v, (list, dict))}
        if scalars:  # lists and nested results go to metrics.json only
            lines += ["| metric | value |", "| --- | --- |"]
            lines += [f"| {k} | {format_value(v)} |" for k, v in scalars.items()]
            lines.append("")
        if history:
            lines += ["![training curves](curves.png)", ""]
        if "kid" in history:
            lines += [
                "KID of the samples (mean and standard deviation over random subsets) "
                "against the held-out images, and their precision, recall, density and "
                "coverage (k = 5) in the same features; the dashed lines are the "
                "training images' values in the samples' place (real against real).",
                "",
                "![KID](kid.png)",
                "",
            ]
        lines.append(report)
        write_text(self.path("report.md"), "\n".join(lines).rstrip() + "\n")  # marks the end
        for state in self.dir.glob("backup*/state.npz"):  # the run is complete: no resume
            shutil.rmtree(state.parent)
        produced = ", ".join(sorted(p.name for p in self.dir.iterdir() if p.is_file()))
        print(f"\nResults in {self.dir}/ : {produced}")
        if peak is not None:
            print(f"Peak memory of the process so far: {peak:,} MiB")
