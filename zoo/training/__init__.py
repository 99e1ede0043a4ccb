"""What every script in `recipes/` shares: its flags, its run directory, its resumable fit
and its report. No model or data set: those come from `zoo` and the recipe.

A recipe reads like a keras.io example, and this package keeps the bookkeeping out of its way:

    parser = training.make_parser("vae", __doc__, epochs=30, batch_size=64)
    parser.add_argument("--latent-dim", type=training.positive_int, default=128)  # its own
    run = training.start(parser)        # parse, check, seed, make the run directory
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

Modules, one job each: `flags` (the shared flags and the argument types that check a value's
range), `run` (`start` and `Run`: the directory, seeding, the resumable fit, the report),
`callbacks` (sample grids, KID and its neighbours, the epoch clock), `state` (the training
state behind --resume), `files` (writes that never leave half a file).
"""

from zoo.training.callbacks import (
    NEIGHBOURS,
    PRDC,
    SAMPLE_QUALITY,
    EpochClock,
    KIDLog,
    SampleGrids,
    is_sample_quality,
)
from zoo.training.files import save_model, write_json, write_text
from zoo.training.flags import (
    at_least,
    constructor_defaults,
    fraction,
    make_parser,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    unit_interval,
)
from zoo.training.run import Run, set_random_seed, start
from zoo.training.state import TrainingState, TrainingStateError

__all__ = [
    "NEIGHBOURS",
    "PRDC",
    "SAMPLE_QUALITY",
    "EpochClock",
    "KIDLog",
    "Run",
    "SampleGrids",
    "TrainingState",
    "TrainingStateError",
    "at_least",
    "constructor_defaults",
    "fraction",
    "is_sample_quality",
    "make_parser",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "save_model",
    "set_random_seed",
    "start",
    "unit_interval",
    "write_json",
    "write_text",
]
