"""A DCGAN for small data on Oxford 17 Flowers at 64x64: a moving average of the generator's
weights, resize-convolution upsampling and, for long runs, DiffAugment.

    python recipes/gan.py                                   # built-in synthetic flowers
    KERAS_BACKEND=jax python recipes/gan.py --data ../shared/data/oxford17 --epochs 100 \
        --augment translation,cutout
    python recipes/gan.py --upsampling transposed --augment none --ema-momentum 0  # none of them

--data takes one folder per class or the original flat jpg/image_0001.jpg layout. Images are
cut to their central square, resized to 64x64, decoded once (cached) and scaled to [0, 1];
10% are held out to measure KID (see --kid-features). Writes, besides the usual run files,
samples/epoch_NNN.png (32 images generated from the same latent draw after every epoch),
samples.gif, kid.png (KID with its spread, precision, recall, density and coverage, each
beside its real-vs-real value: a row in --kid-features' space, a row in a random embedding's,
which sees hue mixing that a petal-count classifier passes) and the checkerboard
share of the samples and of the real images in the report. `--resume --out DIR` continues a
run from its last finished epoch, with both optimizers' state.
"""

import argparse

import zoo  # before Keras: it starts the backend without TensorFlow's start-up logs

# isort: split
import flowers_common  # recipes/flowers_common.py: what the flower scripts share
import keras

from zoo import training
from zoo.datasets import DataError, ImageBatches
from zoo.metrics import checkerboard_share
from zoo.models.dcgan import LOSSES, UPSAMPLING
from zoo.models.diffaugment import POLICIES


def augment_operations(text):
    """--augment's type: 'none' or DiffAugment's operations, comma-separated -> a tuple."""
    operations = () if text == "none" else tuple(text.split(","))
    unknown = [name for name in operations if name not in POLICIES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {', '.join(map(repr, unknown))}; give 'none' or some of {', '.join(POLICIES)}"
        )
    return operations


augment_operations.invalid = "spin"  # an example of a bad value, for the flag tests

# Setup -------------------------------------------------------------------------------------
# Batch 16: twice the steps of batch 32 in an epoch, for 15% more time; with them the
# flowers come out mostly in one hue each instead of mosaics (docs/generative.md).
parser = training.make_parser("gan", __doc__, epochs=50, batch_size=16)
model_flags = parser.add_argument_group("the model (zoo.DCGAN's arguments and defaults)")
default = training.constructor_defaults(zoo.DCGAN)
model_flags.add_argument("--latent-dim", type=training.positive_int, default=default["latent_dim"])
model_flags.add_argument(
    "--filters",
    type=training.positive_int,
    nargs="+",
    default=list(default["filters"]),
    help="the generator's widths from the image inward, like "
    "--discriminator-filters (default: %(default)s)",
)
model_flags.add_argument(
    "--discriminator-filters",
    type=training.positive_int,
    nargs="+",
    default=list(default["discriminator_filters"]),
)
model_flags.add_argument(
    "--upsampling",
    choices=UPSAMPLING,
    default=default["upsampling"],
    help="resize by 2 then a 3x3 convolution ('nearest', 'bilinear'), or "
    "the paper's stride-2 transposed convolution (default: %(default)s)",
)
model_flags.add_argument(
    "--augment",
    type=augment_operations,
    default=",".join(default["augment"]) or "none",
    help="DiffAugment's operations, comma-separated, of colour, "
    "translation, cutout; or 'none' (default: %(default)s)",
)
model_flags.add_argument(
    "--adaptive-augment",
    action="store_true",
    help="apply them with a probability driven by the discriminator's "
    "accuracy on real images (ADA)",
)
model_flags.add_argument(
    "--ema-momentum",
    type=training.unit_interval,
    default=default["ema_momentum"],
    help="of the generator's weight average that draws the samples; 0: "
    "no average (default: %(default)s)",
)
model_flags.add_argument(
    "--dropout",
    type=training.unit_interval,
    default=default["dropout"],
    help="after each of the discriminator's convolutions (the paper's "
    "0.3 slowed it; DiffAugment regularises it; default: %(default)s)",
)
model_flags.add_argument(
    "--spectral-norm", action="store_true", help="spectral normalisation in the discriminator"
)
model_flags.add_argument("--loss", choices=LOSSES, default=default["loss"])
model_flags.add_argument(
    "--skip-excitation",
    action=argparse.BooleanOptionalAction,
    default=default["skip_excitation"],
    help="FastGAN's skip-layer excitation: the generator's first map gates its last one "
    "(default: %(default)s)",
)
model_flags.add_argument(
    "--start-convolutions",
    type=training.non_negative_int,
    default=default["start_convolutions"],
    help="3x3 convolutions on the generator's first map, before upsampling; 0: the "
    "paper's generator (default: %(default)s)",
)
# 4e-4 for both, twice the DCGAN paper's: in the same 50 epochs the samples get one hue and
# petals around a centre of another colour, which at 2e-4 takes about 100; with the
# discriminator at 2e-4 fewer samples were clean flowers (docs/generative.md).
model_flags.add_argument(
    "--learning-rate",
    type=training.positive_float,
    default=zoo.DCGAN.LEARNING_RATE,
    help="of the generator's Adam (beta_1 = 0.5; default: %(default)s)",
)
model_flags.add_argument(
    "--d-learning-rate",
    type=training.positive_float,
    default=zoo.DCGAN.D_LEARNING_RATE,
    help="of the discriminator's Adam (beta_1 = 0.5; default: %(default)s)",
)
flowers_common.add_flower_arguments(parser)
flowers_common.add_kid_arguments(parser)
# The generator draws exactly 2**stages times its start map; the discriminator's "same"
# convolutions take any size of at least 2**stages (the last maps may be odd).
generator_size_check = flowers_common.check_image_size(lambda config: len(config.filters))
discriminator_size_check = flowers_common.check_image_size(
    lambda config: len(config.discriminator_filters), exact=False
)


def check(config):
    """What depends on several flags: an image size the networks take, and operations for
    --adaptive-augment to apply."""
    if config.adaptive_augment and not config.augment:
        return (
            "argument --adaptive-augment: tunes how often --augment's operations apply; "
            "give them too (e.g. --augment translation,cutout)"
        )
    return generator_size_check(config) or discriminator_size_check(config)


run = training.start(parser, check=check)
config = run.config

# Prepare the data: [0, 1] floats (the model scales them to its [-1, 1] inside) ----------
try:
    data, train, held_out = flowers_common.load_and_split(config)
except DataError as error:
    run.abort(str(error))
images = ImageBatches(
    data.images,
    None,
    config.batch_size,
    shuffle=True,
    seed=config.seed,
    indices=train,
    value_range=(0, 1),
)
print(f"{len(train)} training images, {len(held_out)} held out")

# Build the model: two Adam(lr, beta_1=0.5) ------------------------------------------------
model = zoo.DCGAN(
    image_size=config.image_size,
    latent_dim=config.latent_dim,
    filters=config.filters,
    discriminator_filters=config.discriminator_filters,
    dropout=config.dropout,
    upsampling=config.upsampling,
    augment=config.augment,
    adaptive_augment=config.adaptive_augment,
    ema_momentum=config.ema_momentum or None,
    spectral_norm=config.spectral_norm,
    loss=config.loss,
    skip_excitation=config.skip_excitation,
    start_convolutions=config.start_convolutions,
    seed=config.seed,
)
run.start_from_preset(model)  # with --from-preset: its weights
model.compile(
    # None: a run started when the flag defaulted to --learning-rate, now resumed
    d_optimizer=keras.optimizers.Adam(config.d_learning_rate or config.learning_rate, beta_1=0.5),
    g_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=0.5),
)

# Train: a sample grid from one fixed latent draw after every epoch -----------------------
samples = training.SampleGrids(
    lambda: model.sample(32, seed=1234), run.path("samples"), title="DCGAN samples"
)
kid = flowers_common.kid_callback(
    run, data, train, held_out, lambda count: model.sample(count, seed=4321)
)
run.fit(model, images, epochs=config.epochs, callbacks=[samples, kid])

# Evaluate: the checkerboard share of the samples against the real images' ----------------
generated = keras.ops.convert_to_numpy(model.sample(config.kid_images, seed=4321))
checkerboard = {
    "checkerboard_share": checkerboard_share(generated),
    "checkerboard_share_real": checkerboard_share(data.images[held_out] / 255.0),
}
history = run.history()
run.finish(
    model,
    final={name: values[-1] for name, values in history.items() if name != "epoch_seconds"}
    | checkerboard
    | {
        "train_minutes": round(run.training_seconds() / 60, 2),
        "steps": int(keras.ops.convert_to_numpy(model.d_optimizer.iterations)),
    },
    report="![samples](samples.gif)\n\nThe checkerboard share is the part of the images' "
    "spectral power at periods of 2 and 4 pixels (`zoo.metrics.checkerboard_share`): "
    f"{checkerboard['checkerboard_share']:.2e} for the samples, "
    f"{checkerboard['checkerboard_share_real']:.2e} for the held-out real images.\n",
    title=f"DCGAN on {'synthetic flowers' if config.data is None else config.data} "
    f"({len(train)} images, {config.image_size}px)",
)
