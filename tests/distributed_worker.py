"""One process of the distributed tests (tests/test_distribute.py): a small deterministic
regression fitted through `zoo.training`, so the weights of a two-process run can be compared
with those of one process on the same global batches. It writes weights.npz beside the run's
other files.

    python tests/distributed_worker.py --out DIR [--distribute] [--resume] [--epochs N]
        [--custom-step] [--twins]

`--custom-step` trains through zoo's own `GradientStepModel` (the VAE's and the DCGAN's
step) instead of Keras' `fit` step. `--twins` puts dropout in the network and trains on one
batch of four rows repeated to `--batch-size` rows, so that with a batch of 8 on two
processes both shards hold the same four rows: if the shards drew the same dropout masks,
the run would train the weights of one process on the batch of four.

`KILL_AT_EPOCH=K` in the environment ends the process abruptly as epoch K (1-based) begins,
as a job killed then would be, so that `--resume` has a run to continue. (An environment
variable, not a flag: a resumed run takes the flags of the run it continues.)
"""

import os

import numpy as np

import zoo  # noqa: F401  (a quiet start)

# isort: split
import keras

from zoo import training
from zoo.datasets import ImageBatches
from zoo.models.train_step import GradientStep, GradientStepModel

parser = training.make_parser("distributed-test", __doc__, epochs=2, batch_size=8)
parser.add_argument("--custom-step", action="store_true")
parser.add_argument("--twins", action="store_true")
run = training.start(parser)  # before any model: it sets up the distribution engine


class Regression(GradientStepModel):
    """The same network, trained by one `GradientStep` on the mean squared error."""

    def __init__(self, network, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.declare_metrics(["loss"])

    def call(self, inputs, training=False):
        return self.network(inputs, training=training)

    def gradient_steps(self):
        def mean_squared_error(data, training):
            inputs, targets = data
            loss = keras.ops.mean((self.network(inputs, training=training) - targets) ** 2)
            return loss, {"loss": loss}

        return [GradientStep("regression", self.optimizer, self.network, mean_squared_error)]


rng = np.random.default_rng(0)
features = rng.normal(size=(40, 4)).astype("float32")
targets = features @ np.array([0.5, -1.0, 2.0, 0.0], "float32") + 0.1
if run.config.twins:
    features, targets = (
        np.tile(array[:4], (run.config.batch_size // 4, 1))
        for array in (features, targets[:, None])
    )
batches = ImageBatches(
    features, targets, run.config.batch_size, shuffle=not run.config.twins, seed=run.config.seed
)
dropout = [keras.layers.Dropout(0.5, seed=1)] if run.config.twins else []
network = keras.Sequential(
    [keras.Input((4,)), keras.layers.Dense(3), *dropout, keras.layers.Dense(1)]
)
if run.config.custom_step:
    model = Regression(network)
    model.compile(keras.optimizers.Adam(0.05))
else:
    model = network
    model.compile(keras.optimizers.Adam(0.05), "mse")


class Kill(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if str(epoch + 1) == os.environ.get("KILL_AT_EPOCH"):
            os._exit(3)


run.fit(model, batches, epochs=run.config.epochs, callbacks=[Kill()], save=False)
np.savez(run.path("weights.npz"), *[np.asarray(w) for w in network.get_weights()])
run.finish()
