"""Train the flower classifier whose features KID uses where ImageNet weights cannot be had.

    python recipes/flower_classifier.py --data ../shared/data/oxford17     # the 17 classes
    python recipes/flower_classifier.py                                     # synthetic flowers

KID compares generated and real images by a classifier's features. The standard extractor,
ImageNet InceptionV3, needs weights this machine cannot download, so this recipe trains a
`zoo.CompactCNN` (with augmentation) to tell the classes of the training images apart, on the
same seeded train split as recipes/vae.py and recipes/gan.py (their held-out images stay
unseen), and reports its validation accuracy. The model is copied to --save-to, where the
generative recipes' `--kid-features auto` finds it. Besides the usual run files it writes
a labelled grid of validation images with the predicted classes.
"""

import shutil
from pathlib import Path

import flowers_common  # recipes/flowers_common.py: what the flower scripts share
import numpy as np

from zoo import plots, training
from zoo.datasets import DataError

# Setup -------------------------------------------------------------------------------------
parser = training.make_parser("flower_classifier", __doc__, epochs=40, batch_size=32, presets=False)
flowers_common.add_flower_arguments(
    parser
)  # as the generative recipes: their held-out images stay unseen
parser.add_argument("--filters", type=training.positive_int, nargs="+", default=[32, 64, 128, 256])
parser.add_argument("--learning-rate", type=training.positive_float, default=2e-3)
parser.add_argument(
    "--save-to",
    type=Path,
    default=flowers_common.DEFAULT_KID_CLASSIFIER,
    help="where the recipes look for it (default: %(default)s)",
)
run = training.start(
    parser, check=flowers_common.check_image_size(lambda config: len(config.filters), exact=False)
)
config = run.config

# Prepare the data --------------------------------------------------------------------------
try:
    data, train, held_out = flowers_common.load_and_split(config)
except DataError as error:
    run.abort(str(error))
classes = len(data.class_names)
print(f"{classes} classes, {len(train)} training and {len(held_out)} held-out images")

# Build, train and evaluate the model -------------------------------------------------------
model, accuracy = flowers_common.train_flower_classifier(
    data,
    train,
    held_out,
    epochs=config.epochs,
    batch_size=config.batch_size,
    learning_rate=config.learning_rate,
    filters=config.filters,
    seed=config.seed,
    run=run,
)
shown = held_out[:32]
predicted = np.argmax(model.predict(data.images[shown].astype("float32"), verbose=0), axis=1)
names = np.array(data.class_names)
plots.plot_image_grid(
    data.images[shown],
    run.path("predictions.png"),
    labels=[
        f"{names[p]}{'' if p == t else f' (is {names[t]})'}"
        for p, t in zip(predicted, data.labels[shown])
    ],
    title=f"validation images, predicted class (true class where wrong): {accuracy:.1%} right",
)
run.finish(
    model,
    final={
        "val_accuracy": accuracy,
        "classes": classes,
        "chance": 1 / classes,
        "train_minutes": round(run.training_seconds() / 60, 2),
    },
    report="![predictions](predictions.png)\n",
    title=f"Flower classifier for KID ({classes} classes, {config.image_size}px)",
)
config.save_to.parent.mkdir(parents=True, exist_ok=True)
shutil.copyfile(run.path("model.keras"), config.save_to)
print(
    f"validation accuracy {accuracy:.4f} (chance {1 / classes:.4f}); KID classifier saved "
    f"to {config.save_to}"
)
