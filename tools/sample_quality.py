"""A finished generative run's samples measured again, in more than one feature space:

    python tools/sample_quality.py runs/gan-... [--features classifier random-conv] [--count 500]

For each feature space, KID (mean and spread over subsets) and precision, recall, density and
coverage (k = 5) of `--count` samples against the run's held-out images, each beside its
real-vs-real value (as many training images in the samples' place), as the recipes log them.
Feature spaces: `classifier`, the KID classifier the recipe used (--data runs: the one in
the zoo cache made by recipes/flower_classifier.py; built-in flowers: the petal-count
classifier); `random-conv`, `zoo.metrics.random_conv_features`, a randomly initialised
embedding that no training has taught what to ignore.
"""

import argparse
import sys
from pathlib import Path

import zoo  # noqa: F401  (before Keras: it starts the backend without its start-up logs)

# isort: split
import keras
import numpy as np

from zoo import metrics
from zoo.datasets import DataError
from zoo.training import NEIGHBOURS, at_least

sys.path.insert(0, str(Path(__file__).parents[1] / "recipes"))
import flowers_common  # noqa: E402  (recipes/flowers_common.py: the run's own images)

parser = argparse.ArgumentParser(
    prog="tools/sample_quality.py",
    description=__doc__,
    formatter_class=argparse.RawDescriptionHelpFormatter,
)
parser.add_argument("run", type=Path, help="a finished gan.py or vae.py run directory")
parser.add_argument(
    "--features",
    nargs="+",
    choices=("classifier", "random-conv"),
    default=["classifier", "random-conv"],
)
parser.add_argument("--count", type=at_least(10), default=500, help="samples (default: 500)")
parser.add_argument("--seed", type=int, default=4321, help="of the samples' latent draw")
args = parser.parse_args()

try:
    settings, data, train, held_out, model = flowers_common.load_run(args.run)
except DataError as error:
    parser.error(str(error))
real = data.images[held_out].astype("float32") / 255
chosen = np.sort(np.random.default_rng(0).permutation(train)[: args.count])
training = data.images[chosen].astype("float32") / 255
samples = np.asarray(keras.ops.convert_to_numpy(model.sample(args.count, seed=args.seed)))


def classifier():
    if settings.data is None:
        path = flowers_common._synthetic_kid_classifier(settings, train, held_out)
    else:
        path = flowers_common.DEFAULT_KID_CLASSIFIER
        if not path.exists():
            parser.error(f"{path}: no KID classifier; make one with recipes/flower_classifier.py")
    return metrics.classifier_features(str(path))


def random_conv():
    model = metrics.random_conv_features()
    return lambda images: model.predict(images, batch_size=100, verbose=0)


extractors = {"classifier": classifier, "random-conv": random_conv}
print(
    f"{args.run}: {len(samples)} samples, {len(real)} held-out and {len(training)} "
    f"training images (real vs real)"
)
for name in args.features:
    extract = extractors[name]()
    features = [
        np.asarray(keras.ops.convert_to_numpy(extract(x))) for x in (real, samples, training)
    ]
    rows = {}
    for label, other in (("samples", features[1]), ("real", features[2])):
        kid, spread = metrics.kid_spread(features[0], other)
        rows[label] = {"kid": kid, "kid_std": spread} | metrics.precision_recall_density_coverage(
            features[0], other, NEIGHBOURS
        )
    print(
        f"  {name}: "
        + ", ".join(
            f"{key} {rows['samples'][key]:.4g} (real {rows['real'][key]:.4g})"
            for key in ("kid", "kid_std", *metrics.PRDC)
        )
    )
