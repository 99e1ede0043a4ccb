"""A finished generative run's samples measured again, in more than one feature space:

    python tools/sample_quality.py runs/gan-... [--features classifier random-conv] [--count 500]

For each feature space, KID (mean and spread over subsets) and precision, recall, density and
coverage (k = 5) of `--count` samples against the run's held-out images, each beside its
real-vs-real value (as many training images in the samples' place), as the recipes log them.
Feature spaces: `classifier`, the extractor the run's own --kid-features chose
(`flowers_common.kid_features`: for --data, the classifier recipes/flower_classifier.py put
in the zoo cache; for the built-in flowers, their petal-count classifier); `random-conv`,
`zoo.metrics.random_conv_features`, a randomly initialised embedding that no training has
taught what to ignore. The scores are `zoo.training.KIDLog`'s, as the recipes log them.
For a run on the built-in flowers, also the share of the samples that show a clean flower
(`zoo.datasets.flower_check.clean_flowers`), beside the training images'.
"""

import argparse
import sys
from pathlib import Path

import zoo  # noqa: F401  (before Keras: it starts the backend without its start-up logs)

# isort: split
import keras
import numpy as np

from zoo import metrics, training
from zoo.datasets import DataError
from zoo.training import at_least

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
real, training_images = (data.images[i].astype("float32") / 255 for i in (held_out, train))
samples = np.asarray(keras.ops.convert_to_numpy(model.sample(args.count, seed=args.seed)))


def classifier():
    chosen = flowers_common.kid_features(settings, train, held_out)  # the run's --kid-features
    if chosen is None:
        parser.error(f"{args.run}: its run measured no KID, so it has no classifier to reuse")
    return chosen[0]


extractors = {"classifier": classifier, "random-conv": metrics.random_conv_features}
print(
    f"{args.run}: {len(samples)} samples against {len(real)} held-out images; in brackets "
    f"{min(args.count, len(training_images))} training images in their place (real vs real)"
)
for name in args.features:
    # As the recipes log it: the same samples, held-out and training images, the same scores.
    log = training.KIDLog(
        metrics.KID(extractors[name]()),
        real,
        lambda count: samples[:count],
        count=args.count,
        training_images=training_images,
    )
    scores, reference = log.measure(), log.reference
    real_value = {"kid": reference["kid_floor"]} | {k: reference[f"{k}_real"] for k in metrics.PRDC}
    print(
        f"  {name}: kid {scores['kid']:.4g} +- {scores['kid_std']:.4g} (real "
        f"{real_value['kid']:.4g}), "
        + ", ".join(f"{k} {scores[k]:.4g} (real {real_value[k]:.4g})" for k in metrics.PRDC)
    )
# On the built-in flowers: the share of samples that show one flower of one hue with separate
# petals around a centre of another colour (zoo.datasets.flower_check), as the recipes log it;
# beside it all training images' share (the recipes' log: as many as the samples).
for name, score in flowers_common.clean_flower_share(settings).items():
    print(
        f"  {name}: {score(samples):.3f} (all {len(training_images)} training images "
        f"{score(training_images):.3f})"
    )
