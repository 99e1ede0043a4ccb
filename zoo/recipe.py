"""What every script in `recipes/` shares: its flags, its run directory and its report.

A recipe reads like a keras.io example, and this module keeps the bookkeeping out of its way:

    parser = recipe.make_parser("vae", __doc__, epochs=30, batch_size=64)
    parser.add_argument("--latent-dim", type=int, default=128)   # the recipe's own flags
    run = recipe.start(parser)          # parse, seed, make the run directory, write config.json
    ...                                 # build the data and the model from `zoo`
    run.fit(model, train_batches, epochs=run.config.epochs)   # resumable; saves model.keras
    run.finish(model, final={"val_loss": ...})   # metrics.json, curves.png, model.keras, report.md

Shared flags: `--data PATH` (omitted: the recipe's built-in synthetic data), `--out DIR`,
`--epochs`, `--batch-size`, `--seed`, `--resume`, `--time-limit` (minutes of training),
`--distribute` (data-parallel on the backend's own engine: `zoo.distribute`), `--allocator`
(`keep`, the default, calls `zoo.keep_freed_memory()`; `system` leaves the C library's
defaults).

The run directory holds:

    config.json   every setting, the backend and the versions: enough to repeat the run
    history.csv   one row per finished epoch, kept across --resume
    metrics.json  {"history": {metric: [per epoch]}, "final": {...}, "peak_memory_mib": ...}
    curves.png    the history, one panel per metric
    model.keras   the trained model
    report.md     what ran and what came out, with the pictures
    backup/       the training state (`TrainingState`) while the run is unfinished

`--resume --out DIR` continues an interrupted run from its last finished epoch, with the
settings of DIR/config.json, `--epochs` included unless it is given (to train longer), and
ends with the weights the uninterrupted run would have: the state saved after every epoch
holds the optimizer, the learning-rate step, every random stream and the data order. A run
interrupted after training, in its evaluation, resumes there without training again.
"""

import argparse
import atexit
import csv
import inspect
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from zoo import distribute, metrics, plots
from zoo.datasets import ImageBatches, default_cache_dir, flowers
from zoo.memory import keep_freed_memory, peak_memory_mib
from zoo.models.cnn import CompactCNN

__all__ = ["PRDC", "SAMPLE_QUALITY", "EpochClock", "KIDLog", "Run", "SampleGrids",
           "TrainingState", "TrainingStateError", "add_kid_arguments", "constructor_defaults",
           "make_parser", "start", "train_flower_classifier"]

# Where tools/flower_classifier.py puts the classifier that recipes use for KID by default.
DEFAULT_KID_CLASSIFIER = default_cache_dir() / "kid" / "flower_classifier.keras"
SYNTHETIC_KID_SIZE = 32  # the side of the images the built-in flowers' KID classifier sees
_INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
PRDC = metrics.PRDC
NEIGHBOURS = 5  # k of their k-nearest-neighbour balls, as Naeem et al. recommend
# What KIDLog adds to the logs: plotted in kid.png, not among the training curves.
SAMPLE_QUALITY = ("kid", "kid_std", "kid_floor", *PRDC, *(f"{name}_real" for name in PRDC))


def make_parser(name, description, *, epochs, batch_size, seed=0):
    """An `argparse.ArgumentParser` holding the shared flags, with this recipe's defaults."""
    parser = argparse.ArgumentParser(
        prog=f"recipes/{name}.py",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(recipe=name)
    shared = parser.add_argument_group("shared by every recipe")
    shared.add_argument("--data", type=Path, default=None,
                        help="real data: a folder or the original archive/file; "
                             "omitted: the built-in synthetic data set")
    shared.add_argument("--out", type=Path, default=None,
                        help=f"run directory (default: runs/{name}-<date>-<time>)")
    shared.add_argument("--epochs", type=int, default=epochs, help="default: %(default)s")
    shared.add_argument("--batch-size", type=int, default=batch_size,
                        help="default: %(default)s")
    shared.add_argument("--seed", type=int, default=seed,
                        help="seeds Python, NumPy and the backend (default: %(default)s)")
    shared.add_argument("--resume", action="store_true",
                        help="continue the interrupted run in --out from its last finished epoch")
    shared.add_argument("--time-limit", type=float, default=None, metavar="MINUTES",
                        help="stop a fit before its training time (summed epoch times, across "
                             "--resume) would pass this many minutes; default: no limit")
    shared.add_argument("--distribute", "--data-parallel", dest="distribute",
                        action="store_true",
                        help="train data-parallel over every device and process, on the "
                             "backend's own engine (see zoo/distribute.py and the README)")
    shared.add_argument("--allocator", choices=("keep", "system"), default="keep",
                        help="'keep' (default): glibc keeps freed memory for the next step "
                             "(zoo.keep_freed_memory, faster on Linux); 'system': the C "
                             "library's defaults")
    return parser


def constructor_defaults(model_class):
    """{argument: default} of a model's constructor: where a recipe takes its flags'
    defaults, so that the recipe trains what `model_class()` builds."""
    parameters = inspect.signature(model_class.__init__).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def add_flower_arguments(parser):
    """The data flags of every script that reads flowers: --image-size, --val-fraction and
    --synthetic-images (besides the shared --data and --seed)."""
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--val-fraction", type=float, default=0.1,
                        help="held out from training: the validation images, and the real "
                             "images KID compares samples with (the same ones in every script "
                             "for the same --seed)")
    parser.add_argument("--synthetic-images", type=int, default=800,
                        help="size of the built-in synthetic flower set (without --data)")


def load_flowers(config, image_size=None):
    """`flowers.load` the images the flags of `add_flower_arguments` name: --data, or
    without it the synthetic set (drawn on first use), at `image_size` (default
    --image-size); raises DataError as that does."""
    source = config.data or flowers.make_synthetic(count=config.synthetic_images)
    return flowers.load(source, image_size or config.image_size)


def add_kid_arguments(parser):
    """The flags of the generative recipes that log KID (`Run.kid_callback` reads them)."""
    group = parser.add_argument_group("sample quality (KID against held-out real images)")
    group.add_argument(
        "--kid-features", default="auto",
        help="'inception' (ImageNet InceptionV3, downloaded once), the .keras file of a "
             "classifier made by tools/flower_classifier.py, 'none', or 'auto' (default): "
             "InceptionV3 if its weights are in the Keras cache, else for --data the "
             f"classifier in {DEFAULT_KID_CLASSIFIER} if it exists, else none; for the "
             "built-in flowers a classifier of their petal counts, trained on first use "
             "(under a minute) and cached")
    group.add_argument("--kid-every", type=int, default=5,
                       help="epochs between KID measurements (also after the first and the "
                            "last epoch; default: %(default)s)")
    group.add_argument("--kid-images", type=int, default=500,
                       help="generated images per KID measurement (default: %(default)s)")


def start(parser, argv=None):
    """Parse the flags and open the run: the one call at the top of every recipe."""
    config = parser.parse_args(argv)
    cluster = distribute.setup() if config.distribute else distribute.current()
    if not cluster.writer:  # process 0 reports and writes the run directory; the others not
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (for the life of the process)
    if cluster.process_count > 1 and config.time_limit is not None:
        parser.error("--time-limit with several processes: each would decide alone when to "
                     "stop, and the others would wait for it forever; give --epochs instead")
    if config.resume:
        if config.out is None:
            parser.error("--resume needs --out DIR, the run directory to continue")
        config = _resumed_config(parser, config, sys.argv[1:] if argv is None else argv)
    else:
        if config.out is None:
            config.out = Path("runs") / f"{config.recipe}-{time.strftime('%Y%m%d-%H%M%S')}"
        if cluster.writer and (config.out / "config.json").exists():
            parser.error(f"{config.out} already holds a run: pass --resume to continue it, "
                         f"or choose another --out")
    if config.allocator == "keep":
        keep_freed_memory()
    set_random_seed(config.seed)
    directory = Path(config.out) if cluster.writer else _private_directory(config, cluster)
    run = Run(config, directory)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(config).items()}
    _write_json(run.path("config.json"), {"settings": settings, "environment": run.environment})
    print(f"[{config.recipe}] backend={run.environment['backend']} run directory={run.dir}")
    if config.distribute:
        print(f"  distributed: {cluster.describe()}")
    print("  " + json.dumps(settings, sort_keys=True))
    return run


def set_random_seed(seed):
    """`keras.utils.set_random_seed` without loading TensorFlow on the other backends.

    Seeds Python's `random`, NumPy's global generator, the backend (and Keras' global seed
    generator, recreated from the seed). Keras' own function also seeds TensorFlow whenever
    it is installed, which on JAX or PyTorch loads all of TensorFlow (seconds, hundreds of
    MiB and its start-up logs) for a `tf.data` that no recipe uses there.
    """
    if keras.backend.backend() == "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    from keras.src.utils import rng_utils  # its state: no public setter without TensorFlow

    tensorflow = rng_utils.tf
    rng_utils.tf = _Unavailable()
    try:
        keras.utils.set_random_seed(seed)
    finally:
        rng_utils.tf = tensorflow


def _private_directory(config, cluster):
    """A run directory for a process that is not the writer: a temporary folder, removed at
    exit, that starts as a copy of the run being resumed (its training state), so that the
    process reads what process 0 reads and writes nothing into the run itself."""
    folder = Path(tempfile.mkdtemp(prefix=f"zoo-process{cluster.process_index}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    if config.resume:  # not the files process 0 is writing now (written beside, renamed)
        shutil.copytree(config.out, folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.partial", "*.partial.*"))
    return folder


class _Unavailable:
    available = False


def _resumed_config(parser, config, argv):
    """The settings of the run in --out, with --epochs changed only if it was given."""
    saved_path = config.out / "config.json"
    if not saved_path.exists():
        parser.error(f"--resume: {saved_path} does not exist, so there is no run to continue")
    if (config.out / "report.md").exists():
        parser.error(f"--resume: the run in {config.out} has already finished "
                     f"(report.md is there); start a new run with another --out")
    saved = json.loads(saved_path.read_text())["settings"]
    epochs_given = any(arg == "--epochs" or arg.startswith("--epochs=") for arg in argv)
    change = (f" (epochs changed from {saved['epochs']} to {config.epochs})"
              if epochs_given and config.epochs != saved["epochs"] else "")
    print(f"Resuming {config.out} with the settings of its config.json{change}")
    for key, value in saved.items():
        if key not in ("resume", "out") and not (key == "epochs" and epochs_given):
            setattr(config, key, Path(value) if key == "data" and value else value)
    return config


class Run:
    """One recipe run: its settings (`config`) and its directory (`dir`).

    A recipe that trains several models gives each a `stage(name)`: a Run of its own in a
    subdirectory (history, backup, curves, model, report), sharing the settings.
    """

    def __init__(self, config, directory):
        self.config = config
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.created_here = not any(self.dir.iterdir())
        self.started = time.time()
        self.environment = {
            "backend": keras.backend.backend(),
            "keras": keras.__version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "command": " ".join(sys.argv),
        }

    def stage(self, name):
        """The sub-run in DIR/name for one of several models a recipe trains."""
        return Run(self.config, self.dir / name)

    @property
    def finished(self):
        """True once `finish` has written report.md (a resumed run skips finished stages)."""
        return self.path("report.md").exists()

    def abort(self, message):
        """Stop the recipe on bad input: print why, exit 2, and leave no half-made run behind
        (the run directory goes if this run created it)."""
        if self.created_here:
            shutil.rmtree(self.dir)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)

    @property
    def verbose(self):
        """`verbose` for fit/predict: progress bars in a terminal, one line per epoch in a log."""
        return 1 if sys.stdout.isatty() else 2

    def elapsed(self):
        """Seconds since this run (or stage) was opened in this process."""
        return time.time() - self.started

    def path(self, name):
        """A file in the run directory, for a recipe's own outputs."""
        return self.dir / name

    def fit(self, model, x, *, epochs, callbacks=(), backup="backup", save=True, **kwargs):
        """`model.fit(x, epochs=epochs, **kwargs)`, resumable, then `model.keras` saved.

        Adds the callbacks every recipe's fit uses (`EpochClock`, the recipe's own
        `callbacks`, `CSVLogger` to history.csv, `TrainingState` in DIR/`backup`). After an
        interruption, `--resume` continues from the last finished epoch with the state the
        uninterrupted run had: weights, optimizer slots, learning-rate step, every seed
        generator and, for `x` a `zoo.datasets.EpochBatches`, the data order. The model is
        saved (`save`) as soon as training ends; a run interrupted later, in its evaluation,
        resumes with the trained state instead of training again. A second fit in the same
        run (fine-tuning after a frozen stage) names its own `backup` folder.
        -> the `History`, or None when the training had already finished.
        """
        try:
            state = TrainingState(self.dir / backup, data=x)
            trained = state.finished(epochs)
            if trained:
                state.restore(model, optimizer=False)
        except TrainingStateError as error:
            self.abort(str(error))
        if trained:
            print(f"Training finished before the interruption ({state.saved_epoch} epochs): "
                  f"continuing with the trained model from {state.path}")
            return None
        self._trim_history(state.saved_epoch)
        if state.data is not None:  # it orders its epochs itself: Keras would also shuffle
            kwargs["shuffle"] = False  # its batches, with Python's global `random`
        limit = self.config.time_limit
        cluster = distribute.current()  # validation data stay whole: every process
        try:  # measures all of them, so the numbers are those of one process
            history = model.fit(cluster.shard(x), epochs=epochs, verbose=self.verbose, callbacks=[
                *cluster.callbacks(),  # first: the loggers after it see averaged metrics
                EpochClock(None if limit is None else limit * 60,
                           already=self.training_seconds()),
                # before CSVLogger, which logs what they add (epoch_seconds, kid); None: left out
                *(callback for callback in callbacks if callback is not None),
                keras.callbacks.CSVLogger(str(self.dir / "history.csv"), append=True),
                state,  # after CSVLogger: an epoch counts as done once its row is written
            ], **kwargs)
        except TrainingStateError as error:  # a saved state this model can not take
            self.abort(str(error))
        if save:
            _save_model(model, self.path("model.keras"))
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
        kept = [line for line in lines[1:] if line.endswith("\n") and
                len(row := next(csv.reader([line]))) == len(header) and int(row[0]) < epochs]
        if kept:
            _write_text(path, "".join(lines[:1] + kept))
        else:
            path.unlink()

    def kid_callback(self, data, train, held_out, make_images):
        """A `KIDLog` for fit, with the feature extractor the --kid-features flag names, or
        None (said on the console) when KID is off or no extractor is available here.

        data: `zoo.datasets.flowers.Flowers`; train, held_out: its split's indices. KID
        compares `make_images(n)` (images in [0, 1]) with the held-out images; the floor is
        the held-out images against the training images.
        """
        choice = self.config.kid_features
        if choice == "auto":
            keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
            if (keras_home / "models" / _INCEPTION_WEIGHTS).exists():
                choice = "inception"
            elif self.config.data is None:
                choice = str(self._synthetic_kid_classifier(train, held_out))
            elif DEFAULT_KID_CLASSIFIER.exists():
                choice = str(DEFAULT_KID_CLASSIFIER)
            else:
                print("KID off: no InceptionV3 ImageNet weights in the Keras cache and no "
                      f"classifier in {DEFAULT_KID_CLASSIFIER} (make one with "
                      "tools/flower_classifier.py, or pass --kid-features inception)")
                return None
        if choice == "none":
            return None
        if choice == "inception":
            extractor = metrics.inception_features()
        elif Path(choice).is_file():
            extractor = metrics.classifier_features(choice)
        else:
            self.abort(f"--kid-features {choice}: no such file (expected 'inception', 'none', "
                       f"'auto' or a classifier's .keras file)")
        count = self.config.kid_images
        print(f"KID every {self.config.kid_every} epochs: {count} generated against "
              f"{len(held_out)} held-out images, features: {choice}")
        real, training = (data.images[i].astype("float32") / 255 for i in (held_out, train))
        return KIDLog(metrics.KID(extractor), real, make_images, self.config.kid_every, count,
                      training_images=training)

    def _synthetic_kid_classifier(self, train, held_out):
        """The built-in flowers' KID extractor: a classifier of their petal counts, trained
        once on the training split (so the held-out images stay unseen) and cached.

        It sees the flowers at 32 px (`metrics.classifier_features` resizes every image to
        its size): the petals are still plain there (0.93-0.95 accuracy, as at 64 px), and a
        quarter of the pixels in every layer trains in a quarter of the time (37 s on one
        core of a 2-core Xeon). The file's name holds what decides the split, so that a
        classifier never saw the held-out images of another split."""
        config = self.config
        path = (default_cache_dir() / "kid" / f"synthetic-flowers-{config.synthetic_images}-"
                f"val{config.val_fraction:g}-seed{config.seed}-petal-counts-"
                f"{SYNTHETIC_KID_SIZE}px.keras")
        if not path.exists():
            print(f"Training the built-in flowers' KID classifier once (cached in {path})")
            small = load_flowers(config, SYNTHETIC_KID_SIZE)
            model, accuracy = train_flower_classifier(small, train, held_out, epochs=30,
                                                      seed=config.seed)
            print(f"  petal-count accuracy on the held-out images: {accuracy:.3f} "
                  f"(chance {1 / len(small.class_names):.3f})")
            path.parent.mkdir(parents=True, exist_ok=True)
            _save_model(model, path)  # never a half-written classifier in the cache
        return path

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

    def training_seconds(self):
        """The run's training time so far: its epochs' wall times (EpochClock) summed over
        history.csv, across --resume."""
        return sum(self.history().get("epoch_seconds", []))

    def finish(self, model=None, final=None, report="", title=None):
        """Write metrics.json, curves.png, model.keras and report.md; print where they are.

        `final` holds the run's final metrics (numbers, or arrays that go to metrics.json
        only), `report` extra Markdown for report.md (the recipe's own tables and pictures).
        """
        history = self.history()
        final = {k: _jsonable(v) for k, v in (final or {}).items()}
        if model is not None:
            _save_model(model, self.path("model.keras"))
        peak = peak_memory_mib()  # the process's, so a stage's includes the stages before it
        peak = None if peak is None else round(peak)
        _write_json(self.path("metrics.json"),
                    {"history": history, "final": final, "peak_memory_mib": peak})
        if history:
            curves = {k: v for k, v in history.items()
                      if k not in ("epoch_seconds", "learning_rate", *SAMPLE_QUALITY)}
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
            lines += [f"| {k} | {_format(v)} |" for k, v in scalars.items()]
            lines.append("")
        if history:
            lines += ["![training curves](curves.png)", ""]
        if "kid" in history:
            lines += ["KID of the samples (mean and standard deviation over random subsets) "
                      "against the held-out images, and their precision, recall, density and "
                      "coverage (k = 5) in the same features; the dashed lines are the "
                      "training images' values in the samples' place (real against real).",
                      "", "![KID](kid.png)", ""]
        lines.append(report)
        _write_text(self.path("report.md"), "\n".join(lines).rstrip() + "\n")  # marks the end
        for state in self.dir.glob("backup*/state.npz"):  # the run is complete: no resume
            shutil.rmtree(state.parent)
        produced = ", ".join(sorted(p.name for p in self.dir.iterdir() if p.is_file()))
        print(f"\nResults in {self.dir}/ : {produced}")
        if peak is not None:
            print(f"Peak memory of the process so far: {peak:,} MiB")


class SampleGrids(keras.callbacks.Callback):
    """After every epoch, draws `make_images()` (images in [0, 1]) into one PNG grid, and at
    the end of training animates all the grids into a GIF: how a generative model learns."""

    def __init__(self, make_images, folder, title):
        super().__init__()
        self.make_images, self.folder, self.title = make_images, Path(folder), title

    def on_epoch_end(self, epoch, logs=None):
        images = np.asarray(keras.ops.convert_to_numpy(self.make_images()))
        plots.plot_image_grid(images, self.folder / f"epoch_{epoch + 1:03d}.png",
                              title=f"{self.title}, epoch {epoch + 1}")

    def on_train_end(self, logs=None):
        frames = sorted(self.folder.glob("epoch_*.png"))
        if frames:
            plots.animate(frames, self.folder.with_suffix(".gif"))


class KIDLog(keras.callbacks.Callback):
    """Adds KID and precision, recall, density and coverage to the logs, each with its
    real-vs-real value.

    `kid`, `kid_std`: the mean and standard deviation over random subsets
    (`zoo.metrics.kid_spread`) of the KID between held-out real images and `count` images
    from `make_images(count)`, both in [0, 1]. `precision`, `recall`, `density`, `coverage`:
    `zoo.metrics.precision_recall_density_coverage` (k = 5) of the same images in the same
    features, the held-out images as the real set. `kid_floor` and `precision_real`, ...:
    the same with `count` `training_images` (or all, if fewer) in the generated images'
    place: what a model that drew the training set itself would score. Measured after the
    first epoch, every `every` epochs and the last one (also when `EpochClock`, which runs
    before it, ends the fit early); other epochs log NaN, so every row of history.csv has
    the columns (CSVLogger fixes its columns once).
    """

    def __init__(self, kid, real_images, make_images, every=5, count=500,
                 training_images=None):
        super().__init__()
        self.kid, self.real_images, self.make_images, self.every = (
            kid, real_images, make_images, every)
        self.count, self.training_images = count, training_images
        self.real_features = None
        # the real-vs-real values, NaN until the training images' are measured
        self.reference = dict.fromkeys(("kid_floor", *(f"{name}_real" for name in PRDC)),
                                       float("nan"))

    def measure(self):
        """{kid, kid_std, precision, recall, density, coverage} of `count` new images, now."""
        self._measure_real_images()
        generated = self.kid.features(keras.ops.convert_to_numpy(self.make_images(self.count)))
        return self._scores(generated)

    def _scores(self, features):
        kid, kid_std = metrics.kid_spread(self.real_features, features)
        if min(len(self.real_features), len(features)) > NEIGHBOURS:
            balls = metrics.precision_recall_density_coverage(self.real_features, features,
                                                              NEIGHBOURS)
        else:  # too few images for k-nearest-neighbour balls (a tiny test set)
            balls = dict.fromkeys(PRDC, float("nan"))
        return {"kid": kid, "kid_std": kid_std, **balls}

    def _measure_real_images(self):
        if self.real_features is None:  # once per process: the real images never change
            self.real_features = self.kid.features(self.real_images)
            if self.training_images is not None:
                chosen = np.random.default_rng(0).permutation(len(self.training_images))
                training = self.kid.features(self.training_images[np.sort(chosen[:self.count])])
                scores = self._scores(training)
                self.reference = {"kid_floor": scores["kid"]} | {
                    f"{name}_real": scores[name] for name in PRDC}

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        last = done == self.params.get("epochs") or self.model.stop_training  # --time-limit
        if done == 1 or done % self.every == 0 or last:
            scores = self.measure()
        else:
            self._measure_real_images()  # the real-vs-real values, on every row
            scores = dict.fromkeys(("kid", "kid_std", *PRDC), float("nan"))
        if logs is not None:
            logs.update(scores | self.reference)


class EpochClock(keras.callbacks.Callback):
    """Adds `epoch_seconds`, the wall time of each epoch, to the logs (and so to history.csv).

    Summed over history.csv it gives a run's training time, across --resume too. With a
    `limit` (seconds), it stops the fit after the epoch past which one more epoch as long as
    the last would take the training time (`already` spent before this fit, plus this fit's
    epochs) over the limit.
    """

    def __init__(self, limit=None, already=0.0):
        super().__init__()
        self.limit = limit
        self.trained = already

    def on_epoch_begin(self, epoch, logs=None):
        self.began = time.time()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.time() - self.began
        self.trained += seconds
        if logs is not None:
            logs["epoch_seconds"] = seconds
        if self.limit is not None and self.trained + seconds > self.limit:
            print(f"Time limit: {self.trained / 60:.1f} min trained; another epoch would "
                  f"pass {self.limit / 60:g} min, so training stops after epoch {epoch + 1}")
            self.model.stop_training = True


class TrainingStateError(ValueError):
    """A saved training state that can not be used: the message names the file and why."""


class TrainingState(keras.callbacks.Callback):
    """Everything a fit needs to go on exactly where it stopped, saved after every epoch.

    The state is every variable of the model (weights, batch-norm statistics and the
    seed-generator states behind dropout, augmentation and noise) and of its optimizer
    (slots, step count, so the learning-rate schedule too), with the count of finished epochs:
    more than `keras.callbacks.BackupAndRestore` keeps, which leaves out the seed generators.
    It goes to `folder/state.npz`, written beside and renamed, so a kill at any moment leaves
    the previous epoch's state whole. At `on_train_begin` a saved state is loaded and the fit
    continues after its last epoch; at every epoch's start, `data` (an `EpochBatches`)
    takes that epoch's order. The state stays after the fit, marked finished (`Run.finish`
    removes it with the report written).
    """

    def __init__(self, folder, data=None):
        super().__init__()
        self.path = Path(folder) / "state.npz"
        self.data = data if hasattr(data, "set_epoch") else None
        self.saved_epoch, self.saved = 0, None
        if self.path.exists():
            try:
                with np.load(self.path) as saved:
                    self.saved = {name: saved[name] for name in saved.files}
                self.meta = json.loads(str(self.saved.pop("meta")))
            except Exception as error:  # noqa: BLE001  any unreadable file: say which
                raise TrainingStateError(f"{self.path}: not a readable training state "
                                         f"({error}); delete it to train from the start") from error
            self.saved_epoch = self.meta["epoch"]

    def finished(self, epochs):
        """True when the saved state is that of a fit that ended, for at most `epochs`."""
        return self.saved is not None and self.meta["finished"] and epochs <= self.meta["epochs"]

    def restore(self, model, optimizer=True):
        """Load the saved values into `model` (and its optimizer's variables)."""
        for group, variables in self._variables(model, optimizer).items():
            values = [self.saved[f"{group}{i}"] for i in range(self.meta[group])]
            shapes = ([tuple(v.shape) for v in variables], [value.shape for value in values])
            if shapes[0] != shapes[1]:
                raise TrainingStateError(f"{self.path}: the saved training state does not fit "
                                         f"this model (its {group} variables differ: other "
                                         f"settings?)")
            for variable, value in zip(variables, values):
                variable.assign(value)

    @staticmethod
    def _variables(model, optimizer=True):
        groups = {"model": list(model.variables)}
        if optimizer and model.optimizer is not None:
            if not model.optimizer.built:  # its slots must exist to take their values
                model.optimizer.build(model.trainable_variables)
            groups["optimizer"] = list(model.optimizer.variables)
        return groups

    def on_train_begin(self, logs=None):
        if self.saved is not None and self.saved_epoch > 0:
            self.restore(self.model)
            self.model._initial_epoch = self.saved_epoch  # what fit starts from (as Keras'
            print(f"Resuming after epoch {self.saved_epoch} ({self.path})")  # BackupAndRestore)

    def on_epoch_begin(self, epoch, logs=None):
        if self.data is not None:
            self.data.set_epoch(epoch)

    def on_epoch_end(self, epoch, logs=None):
        self._save(epoch + 1, finished=False)

    def on_train_end(self, logs=None):
        self.model._initial_epoch = None  # Keras keeps it for the next fit otherwise
        if self.model.stop_training or self.saved_epoch == self.params["epochs"]:
            self._save(self.saved_epoch, finished=True)

    def _save(self, epoch, finished):
        arrays = {}
        meta = {"epoch": epoch, "finished": finished, "epochs": self.params["epochs"]}
        for group, variables in self._variables(self.model).items():
            meta[group] = len(variables)
            arrays |= {f"{group}{i}": np.asarray(keras.ops.convert_to_numpy(v))
                       for i, v in enumerate(variables)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f"state.{os.getpid()}.partial.npz")
        np.savez(temporary, meta=np.array(json.dumps(meta)), **arrays)
        temporary.replace(self.path)
        self.saved_epoch, self.meta = epoch, meta


def train_flower_classifier(data, train, val, *, epochs, batch_size=32, learning_rate=2e-3,
                            filters=(32, 64, 128, 256), seed=0, run=None):
    """A `zoo.CompactCNN` (with augmentation) fitted to tell `data`'s classes apart from its
    `train` images (indices); -> (model, accuracy on the `val` images).

    What KID's features come from where ImageNet weights cannot be had: the generative
    recipes train one for the built-in flowers, tools/flower_classifier.py (which passes its
    `run`, so the fit is resumable and logged) for real data.
    """
    train_batches = ImageBatches(data.images, data.labels, batch_size, indices=train,
                                 shuffle=True, seed=seed)
    val_batches = ImageBatches(data.images, data.labels, batch_size, indices=val)
    model = CompactCNN(image_size=data.images.shape[1], filters=filters,
                       classes=len(data.class_names), augment=True, seed=seed)
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=epochs * len(train_batches), alpha=0.05)
    model.compile(keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    if run is None:
        model.fit(train_batches, validation_data=val_batches, epochs=epochs, shuffle=False,
                  verbose=0)
    else:
        run.fit(model, train_batches, validation_data=val_batches, epochs=epochs)
    predicted = np.argmax(distribute.predict(model, val_batches), axis=1)
    return model, float(np.mean(predicted == data.labels[val]))


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "shape"):  # a backend tensor or NumPy array
        return np.asarray(keras.ops.convert_to_numpy(value)).tolist()
    return value


def _format(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _save_model(model, path):
    # Save beside and rename, so an interrupted save never leaves half a model.
    temporary = path.with_name(f"{path.stem}.{os.getpid()}.partial.keras")
    model.save(temporary)
    temporary.replace(path)


def _write_json(path, data):
    _write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _write_text(path, text):
    # Write beside and rename, so an interrupted write never leaves half a file.
    temporary = Path(str(path) + ".partial")
    temporary.write_text(text)
    temporary.replace(path)
