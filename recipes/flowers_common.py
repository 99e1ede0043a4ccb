"""What the scripts that read flowers share (gan.py, vae.py, flower_classifier.py): their
data flags, the loading of the images those flags name, and the choice of KID's features.

    flowers_common.add_flower_arguments(parser)   # --image-size, --val-fraction, ...
    flowers_common.add_kid_arguments(parser)      # --kid-features, --kid-every, --kid-images
    run = training.start(parser, check=flowers_common.check_image_size(depth))
    data, train, held_out = flowers_common.load_and_split(run.config)   # or DataError
    kid = flowers_common.kid_callback(run, data, train, held_out, make_images)

The same flags select the same images and hold out the same ones in every script.
"""

import argparse
import json
import os
from pathlib import Path

import keras
import numpy as np

from zoo import distribute, metrics, training
from zoo.datasets import DataError, ImageBatches, default_cache_dir, flower_check, flowers
from zoo.models.cnn import CompactCNN

# Where flower_classifier.py puts the classifier that recipes use for KID by default.
DEFAULT_KID_CLASSIFIER = default_cache_dir() / "kid" / "flower_classifier.keras"
SYNTHETIC_KID_SIZE = 32  # the side of the images the built-in flowers' KID classifier sees
_INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


def add_flower_arguments(parser):
    """The data flags of every script that reads flowers: --image-size, --val-fraction and
    --synthetic-images (besides the shared --data and --seed)."""
    parser.add_argument("--image-size", type=training.positive_int, default=64)
    parser.add_argument(
        "--val-fraction",
        type=training.fraction,
        default=0.1,
        help="held out from training: the validation images, and the real "
        "images KID compares samples with (the same ones in every script "
        "for the same --seed)",
    )
    parser.add_argument(
        "--synthetic-images",
        type=training.positive_int,
        default=800,
        help="size of the built-in synthetic flower set (without --data)",
    )


def check_image_size(halvings, exact=True):
    """A `training.start` check of --image-size against the networks' `halvings(config)`
    stride-2 stages: a multiple of 2**halvings (`exact`: a generator draws the size it is
    given) or at least that (a classifier pools what is left)."""

    def check(config):
        factor = 2 ** halvings(config)
        if exact and config.image_size % factor:
            return (
                f"argument --image-size: must be a multiple of {factor} for "
                f"{halvings(config)} stride-2 stages, got {config.image_size}"
            )
        if config.image_size < factor:
            return (
                f"argument --image-size: must be at least {factor} for "
                f"{halvings(config)} stride-2 stages, got {config.image_size}"
            )
        return None

    return check


def load_and_split(config):
    """(data, train, held_out): the images the flags name (`load_flowers`) and the indices
    of their split by --val-fraction and --seed (`flowers.split`); raises DataError
    as loading does, or when either side of the split would be empty."""
    data = load_flowers(config)
    split = flowers.split(data, config.val_fraction, config.seed)
    train, held_out = split.train, split.val
    if not len(train) or not len(held_out):
        raise DataError(
            f"--val-fraction {config.val_fraction} of {len(data.images)} images leaves "
            f"{len(train)} to train on and {len(held_out)} held out; both need some"
        )
    return data, train, held_out


def load_flowers(config, image_size=None):
    """`flowers.load` the images the flags of `add_flower_arguments` name: --data, or
    without it the synthetic set (drawn on first use), at `image_size` (default
    --image-size); raises DataError as that does."""
    source = config.data or flowers.make_synthetic(count=config.synthetic_images)
    return flowers.load(source, image_size or config.image_size)


def load_run(run_dir):
    """A finished gan.py or vae.py run: (settings, data, train, held_out, model), with the
    images and split its flags chose; raises DataError naming what is missing."""
    config_path, model_path = Path(run_dir) / "config.json", Path(run_dir) / "model.keras"
    for path in (config_path, model_path):
        if not path.is_file():
            raise DataError(f"{path}: not found; give a finished run directory")
    settings = argparse.Namespace(**json.loads(config_path.read_text())["settings"])
    settings.data = Path(settings.data) if settings.data else None
    data, train, held_out = load_and_split(settings)
    return settings, data, train, held_out, keras.saving.load_model(model_path)


def add_kid_arguments(parser):
    """The flags of the generative recipes that log KID (`kid_callback` reads them)."""
    group = parser.add_argument_group("sample quality (KID against held-out real images)")
    group.add_argument(
        "--kid-features",
        default="auto",
        help="'inception' (ImageNet InceptionV3, downloaded once), the .keras file of a "
        "classifier made by recipes/flower_classifier.py, 'none', or 'auto' (default): "
        "InceptionV3 if its weights are in the Keras cache, else for --data the "
        f"classifier in {DEFAULT_KID_CLASSIFIER} if it exists, else none; for the "
        "built-in flowers a classifier of their petal counts, trained on first use "
        "(under a minute) and cached",
    )
    group.add_argument(
        "--kid-every",
        type=training.positive_int,
        default=5,
        help="epochs between KID measurements (also after the first and the "
        "last epoch; default: %(default)s)",
    )
    group.add_argument(
        "--kid-images",
        type=training.at_least(10),
        default=500,
        help="generated images per KID measurement, at least 10 (default: %(default)s)",
    )


def kid_callback(run, data, train, held_out, make_images):
    """A `KIDLog` for fit that measures the same samples in two feature spaces: the one the
    --kid-features flag names (`kid_features`), and, its names prefixed `random_conv_`, a
    randomly initialised convolutional embedding (`zoo.metrics.random_conv_features`); or
    None (said on the console) when KID is off or no extractor is available here.

    Why two: a classifier's features see what it was trained to tell apart and little else.
    The built-in flowers' petal-count classifier passes flowers whose petals mix hues, and
    its density stayed flat over epochs in which the samples visibly cleaned up; the random
    embedding saw both (docs/generative.md).

    On the built-in flowers it also logs `clean_flower_share`: the share of the samples
    that show one flower of one hue with separate petals around a centre of another colour
    (`zoo.datasets.flower_check.clean_flowers`), beside the training images' share.

    data: `zoo.datasets.flowers.Flowers`; train, held_out: its split's indices. KID
    compares `make_images(n)` (images in [0, 1]) with the held-out images; the real-vs-real
    values put training images in the generated ones' place.
    """
    try:
        chosen = kid_features(run.config, train, held_out)
    except DataError as error:
        run.abort(str(error))
    if chosen is None:
        return None
    extractor, choice = chosen
    count = run.config.kid_images
    print(
        f"KID every {run.config.kid_every} epochs: {count} generated against "
        f"{len(held_out)} held-out images, features: {choice}, and a random "
        "convolutional embedding (random_conv_*)"
    )
    real, training_images = (data.images[i].astype("float32") / 255 for i in (held_out, train))
    return training.KIDLog(
        {
            "": metrics.KID(extractor),
            "random_conv_": metrics.KID(metrics.random_conv_features()),
        },
        real,
        make_images,
        run.config.kid_every,
        count,
        training_images=training_images,
        image_scores=clean_flower_share(run.config),
    )


def clean_flower_share(config):
    """{"clean_flower_share": images -> the share that `flower_check.clean_flowers` passes}
    for a run on the built-in flowers (whose parts the rule knows); {} for --data."""
    if config.data is not None:
        return {}
    return {"clean_flower_share": lambda images: float(flower_check.clean_flowers(images).mean())}


def kid_features(config, train, held_out):
    """The feature extractor --kid-features names -> (extractor, what it is), or None when
    KID is off ("none", or "auto" with no extractor here: said on the console); raises
    DataError for a file that is not there."""
    choice = config.kid_features
    if choice == "auto":
        keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
        if (keras_home / "models" / _INCEPTION_WEIGHTS).exists():
            choice = "inception"
        elif config.data is None:
            choice = str(_synthetic_kid_classifier(config, train, held_out))
        elif DEFAULT_KID_CLASSIFIER.exists():
            choice = str(DEFAULT_KID_CLASSIFIER)
        else:
            print(
                "KID off: no InceptionV3 ImageNet weights in the Keras cache and no "
                f"classifier in {DEFAULT_KID_CLASSIFIER} (make one with "
                "recipes/flower_classifier.py, or pass --kid-features inception)"
            )
            return None
    if choice == "none":
        return None
    if choice == "inception":
        return metrics.inception_features(), choice
    if Path(choice).is_file():
        return metrics.classifier_features(choice), choice
    raise DataError(
        f"--kid-features {choice}: no such file (expected 'inception', 'none', "
        f"'auto' or a classifier's .keras file)"
    )


def _synthetic_kid_classifier(config, train, held_out):
    """The built-in flowers' KID extractor: a classifier of their petal counts, trained
    once on the training split (so the held-out images stay unseen) and cached.

    It sees the flowers at 32 px (`metrics.classifier_features` resizes every image to
    its size): the petals are still plain there (0.93-0.95 accuracy, as at 64 px), and a
    quarter of the pixels in every layer trains in a quarter of the time. The file's name
    holds what decides the split, so that a classifier never saw the held-out images of
    another split."""
    path = (
        default_cache_dir() / "kid" / f"synthetic-flowers-{config.synthetic_images}-"
        f"val{config.val_fraction:g}-seed{config.seed}-petal-counts-"
        f"{SYNTHETIC_KID_SIZE}px.keras"
    )
    if not path.exists():
        print(f"Training the built-in flowers' KID classifier once (cached in {path})")
        small = load_flowers(config, SYNTHETIC_KID_SIZE)
        model, accuracy = train_flower_classifier(
            small, train, held_out, epochs=30, seed=config.seed
        )
        print(
            f"  petal-count accuracy on the held-out images: {accuracy:.3f} "
            f"(chance {1 / len(small.class_names):.3f})"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        training.save_model(model, path)  # never a half-written classifier in the cache
    return path


def train_flower_classifier(
    data,
    train,
    val,
    *,
    epochs,
    batch_size=32,
    learning_rate=2e-3,
    filters=(32, 64, 128, 256),
    seed=0,
    run=None,
):
    """A `zoo.CompactCNN` (with augmentation) fitted to tell `data`'s classes apart from its
    `train` images (indices); -> (model, accuracy on the `val` images).

    What KID's features come from where ImageNet weights cannot be had: the generative
    recipes train one for the built-in flowers, recipes/flower_classifier.py (which passes its
    `run`, so the fit is resumable and logged) for real data.
    """
    train_batches = ImageBatches(
        data.images, data.labels, batch_size, indices=train, shuffle=True, seed=seed
    )
    val_batches = ImageBatches(data.images, data.labels, batch_size, indices=val)
    model = CompactCNN(
        image_size=data.images.shape[1],
        filters=filters,
        classes=len(data.class_names),
        augment=True,
        seed=seed,
    )
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=epochs * len(train_batches), alpha=0.05
    )
    model.compile(
        keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    if run is None:
        model.fit(
            train_batches, validation_data=val_batches, epochs=epochs, shuffle=False, verbose=0
        )
    else:
        run.fit(model, train_batches, validation_data=val_batches, epochs=epochs)
    predicted = np.argmax(distribute.predict(model, val_batches), axis=1)
    return model, float(np.mean(predicted == data.labels[val]))
