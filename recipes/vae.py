"""A convolutional VAE on Oxford 17 Flowers at 64x64.

    python recipes/vae.py                                   # built-in synthetic flowers
    KERAS_BACKEND=jax python recipes/vae.py --data ../shared/data/oxford17 --epochs 60

--data takes one folder per class or the original flat jpg/image_0001.jpg layout. Images are
cut to their central square, resized to 64x64, decoded once (cached) and scaled to [0, 1].
The validation images (10%) are also the real images KID compares samples with (see
--kid-features). Writes, besides the usual run files: samples/epoch_NNN.png (32 images
decoded from the same latent draw after every epoch) and samples.gif, kid.png (KID, precision,
recall, density and coverage beside their real-vs-real values, in --kid-features' space and
in a random embedding's), reconstructions.png
(validation images above their reconstructions) and interpolation.png (a walk in latent
space between two images).
"""

import zoo  # before Keras: it starts the backend without TensorFlow's start-up logs

# isort: split
import flowers_common  # recipes/flowers_common.py: what the flower scripts share
import keras
import numpy as np

from zoo import plots, training
from zoo.datasets import DataError, ImageBatches
from zoo.metrics import checkerboard_share
from zoo.models.vae import LIKELIHOODS

# Setup -------------------------------------------------------------------------------------
# Batch 16: four times the steps of batch 64 in an epoch; at 64 the VAE had not learned
# the flowers' hues in 30 epochs (docs/generative.md).
parser = training.make_parser("vae", __doc__, epochs=30, batch_size=16)
default = training.constructor_defaults(zoo.VAE)  # the flags' defaults are the model's
parser.add_argument("--latent-dim", type=training.positive_int, default=default["latent_dim"])
parser.add_argument(
    "--beta",
    type=training.non_negative_float,
    default=default["beta"],
    help="weight of the KL term",
)
parser.add_argument(
    "--likelihood",
    choices=LIKELIHOODS,
    default=default["likelihood"],
    help="of a pixel given the latent: binary cross-entropy, or a Gaussian "
    "whose standard deviation is fitted (sigma-VAE; default: %(default)s)",
)
parser.add_argument("--learning-rate", type=training.positive_float, default=zoo.VAE.LEARNING_RATE)
flowers_common.add_flower_arguments(parser)
flowers_common.add_kid_arguments(parser)
run = training.start(
    parser,
    check=flowers_common.check_image_size(
        lambda config: len(training.constructor_defaults(zoo.VAE)["filters"])
    ),
)
config = run.config

# Prepare the data: [0, 1] floats ---------------------------------------------------------
try:
    data, train, held_out = flowers_common.load_and_split(config)
except DataError as error:
    run.abort(str(error))
train_batches = ImageBatches(
    data.images,
    None,
    config.batch_size,
    shuffle=True,
    seed=config.seed,
    indices=train,
    value_range=(0, 1),
)
held_out_images = data.images[held_out].astype("float32") / 255
print(f"{len(train)} training and {len(held_out)} held-out images (validation and KID)")

# Build the model -------------------------------------------------------------------------
model = zoo.VAE(
    image_size=config.image_size,
    latent_dim=config.latent_dim,
    beta=config.beta,
    likelihood=config.likelihood,
    seed=config.seed,
)
run.start_from_preset(model)  # with --from-preset: its weights
model.compile(keras.optimizers.Adam(config.learning_rate))

# Train: a sample grid from one fixed latent draw after every epoch -----------------------
samples = training.SampleGrids(
    lambda: model.sample(32, seed=1234), run.path("samples"), title="VAE samples"
)
kid = flowers_common.kid_callback(
    run, data, train, held_out, lambda count: model.sample(count, seed=4321)
)
run.fit(
    model,
    train_batches,
    validation_data=(held_out_images,),
    validation_batch_size=config.batch_size,
    epochs=config.epochs,
    callbacks=[samples, kid],
)

# Evaluate: reconstructions and a latent interpolation ------------------------------------
originals = held_out_images[:8]
reconstructions = keras.ops.convert_to_numpy(model.reconstruct(originals))
plots.plot_image_grid(
    np.concatenate([originals, reconstructions]),
    run.path("reconstructions.png"),
    columns=len(originals),
    labels=["original"] * len(originals) + ["reconstruction"] * len(originals),
    title="held-out images (top) and their reconstructions",
)
means, _ = model.encode(held_out_images[[0, -1]])  # from the first held-out image to the last
steps = np.linspace(0, 1, 10, dtype="float32")[:, None]
means = keras.ops.convert_to_numpy(means)
walk = keras.ops.convert_to_numpy(model.decode((1 - steps) * means[0] + steps * means[1]))
plots.plot_image_grid(
    walk,
    run.path("interpolation.png"),
    columns=10,
    labels=[f"{s:.1f}" for s in steps[:, 0]],
    title="latent interpolation",
)

history = run.history()
run.finish(
    model,
    final={
        name: values[-1]
        for name, values in history.items()
        if name.endswith("loss") or training.is_sample_quality(name)
    }
    | {
        "checkerboard_share": checkerboard_share(model.sample(config.kid_images, seed=4321)),
        "checkerboard_share_real": checkerboard_share(held_out_images),
    }
    | {"train_minutes": round(run.training_seconds() / 60, 2)},
    report="![samples](samples.gif)\n\n![reconstructions](reconstructions.png)\n\n"
    "![interpolation](interpolation.png)\n",
    title=f"VAE on {'synthetic flowers' if config.data is None else config.data} "
    f"({len(train)} images, {config.image_size}px)",
)
