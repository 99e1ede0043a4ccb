"""Images per second of the GAN recipe's DCGAN training step (batch 16, 64 px), for a
before-and-after comparison on one machine:

    KERAS_BACKEND=jax taskset -c 0 python tools/gan_step_speed.py 50
    KERAS_BACKEND=jax PYTHONPATH=/path/to/older/checkout taskset -c 0 python tools/gan_step_speed.py

`fit` on random images; the median of the steps after the first 10 (compilation). BATCH,
EXTRA (a dict of DCGAN arguments) and COMPILE (of compile's) in the environment vary it.
"""

import os
import sys
import time

import numpy as np

import zoo  # before Keras: it starts the backend quietly

# isort: split
import keras

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 40
batch = int(os.environ.get("BATCH", 16))
settings = {
    "image_size": 64,
    "latent_dim": 100,
    "filters": (32, 64, 128),
    "discriminator_filters": (32, 64, 128),
    "dropout": 0.0,
    "augment": ("translation", "cutout"),  # the default until 2026-12-06, Oxford 17's still
    "seed": 0,
}
settings.update(eval(os.environ.get("EXTRA", "{}")))  # noqa: S307  (a developer's tool)
model = zoo.DCGAN(**settings)
model.compile(
    d_optimizer=keras.optimizers.Adam(4e-4, beta_1=0.5),
    g_optimizer=keras.optimizers.Adam(4e-4, beta_1=0.5),
    **eval(os.environ.get("COMPILE", "{}")),
)  # noqa: S307
images = np.random.default_rng(0).random((batch * (steps + 10), 64, 64, 3), dtype=np.float32)
times = []


class StepTimer(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        self.began = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        times.append(time.perf_counter() - self.began)


model.fit(images, batch_size=batch, epochs=1, verbose=0, callbacks=[StepTimer()], shuffle=False)
median = float(np.median(times[10:]))
print(
    f"{keras.backend.backend()} ({zoo.__file__}), batch {batch}: {median * 1000:.1f} ms/step, "
    f"{batch / median:.1f} images/s"
)
