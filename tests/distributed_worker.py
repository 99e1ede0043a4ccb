"""One process of the distributed tests (tests/test_distribute.py): a small deterministic
regression fitted through `zoo.recipe`, so the weights of a two-process run can be compared
with those of one process on the same global batches.

    python tests/distributed_worker.py --out DIR [--distribute] [--resume] [--epochs N]

`KILL_AT_EPOCH=K` in the environment ends the process abruptly as epoch K (1-based) begins,
as a job killed then would be, so that `--resume` has a run to continue. (An environment
variable, not a flag: a resumed run takes the flags of the run it continues.)
"""

import os

import numpy as np

import zoo  # noqa: F401  (a quiet start)
from zoo import recipe
from zoo.datasets import ImageBatches

parser = recipe.make_parser("distributed-test", __doc__, epochs=2, batch_size=8)
run = recipe.start(parser)

import keras  # noqa: E402  (after start: the distribution engine is set up first)

rng = np.random.default_rng(0)
features = rng.normal(size=(40, 4)).astype("float32")
targets = features @ np.array([0.5, -1.0, 2.0, 0.0], "float32") + 0.1
batches = ImageBatches(features, targets, run.config.batch_size, shuffle=True,
                       seed=run.config.seed)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
model.compile(keras.optimizers.Adam(0.05), "mse")


class Kill(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if str(epoch + 1) == os.environ.get("KILL_AT_EPOCH"):
            os._exit(3)


run.fit(model, batches, epochs=run.config.epochs, callbacks=[Kill()])
run.finish(model, final={"loss": float(model.evaluate(features, targets[:, None], verbose=0))})
