"""A DCGAN on Oxford 17 Flowers at 64x64.

    python recipes/gan.py                                   # built-in synthetic flowers
    KERAS_BACKEND=jax python recipes/gan.py --data ../shared/data/oxford17 --epochs 100

--data takes one folder per class or the original flat jpg/image_0001.jpg layout. Images are
cut to their central square, resized to 64x64, decoded once (cached) and scaled to [-1, 1];
10% are held out to measure KID (see --kid-features). Writes, besides the usual run files,
samples/epoch_NNN.png (32 images generated from the same latent draw after every epoch) and
samples.gif. `--resume --out DIR` continues a run from its last finished epoch, with both
optimizers' state.
"""

import keras

import zoo
from zoo import recipe
from zoo.datasets import DataError, flowers

# Setup -------------------------------------------------------------------------------------
parser = recipe.make_parser("gan", __doc__, epochs=20, batch_size=64)
parser.add_argument("--latent-dim", type=int, default=100)
parser.add_argument("--learning-rate", type=float, default=1e-4,
                    help="of both Adam optimizers (beta_1 = 0.5)")
flowers.add_arguments(parser)
recipe.add_kid_arguments(parser)
run = recipe.start(parser)
config = run.config

# Prepare the data: [-1, 1] floats for training, [0, 1] for KID ---------------------------
try:
    data = flowers.load_from_flags(config)
except DataError as error:
    run.abort(str(error))
train, held_out = flowers.split(data, config.val_fraction, config.seed)
images = train.astype("float32") / 127.5 - 1.0
print(f"{len(images)} training images, {len(held_out)} held out")

# Build the model: two Adam(lr, beta_1=0.5) ------------------------------------------------
model = zoo.DCGAN(image_size=config.image_size, latent_dim=config.latent_dim, seed=config.seed)
model.compile(d_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=0.5),
              g_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=0.5))

# Train: a sample grid from one fixed latent draw after every epoch -----------------------
samples = recipe.SampleGrids(lambda: (model.generate(32, seed=1234) + 1) / 2,
                             run.path("samples"), title="DCGAN samples")
kid = run.kid_callback(held_out.astype("float32") / 255,
                       lambda count: (model.generate(count, seed=4321) + 1) / 2)
model.fit(images, epochs=config.epochs, batch_size=config.batch_size, shuffle=True,
          callbacks=run.callbacks(samples, kid), verbose=run.verbose)

history = run.history()
run.finish(
    model,
    final={name: values[-1] for name, values in history.items() if name != "epoch_seconds"}
    | {"train_minutes": round(run.training_seconds() / 60, 2),
       "steps": int(model.d_optimizer.iterations)},
    report="![samples](samples.gif)\n",
    title=f"DCGAN on {'synthetic flowers' if config.data is None else config.data} "
          f"({len(images)} images, {config.image_size}px)",
)
