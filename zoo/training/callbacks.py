"""The callbacks of a recipe's fit: sample grids, sample quality (KID and its neighbours),
and the epoch clock behind --time-limit."""

import time
from collections.abc import Callable, Mapping
from pathlib import Path

import keras
import numpy as np

from zoo import metrics, plots
from zoo.typing import ArrayLike, Tensor

__all__ = [
    "NEIGHBOURS",
    "PRDC",
    "SAMPLE_QUALITY",
    "EpochClock",
    "KIDLog",
    "SampleGrids",
    "is_sample_quality",
]

PRDC = metrics.PRDC
NEIGHBOURS = 5  # k of their k-nearest-neighbour balls, as Naeem et al. recommend
# What KIDLog adds to the logs: plotted in kid.png, not among the training curves. Its
# image scores (shares of images that pass a test) end in "_share", and "_share_real".
SAMPLE_QUALITY = ("kid", "kid_std", "kid_floor", *PRDC, *(f"{name}_real" for name in PRDC))
IMAGE_SCORE = (plots.SHARE_SUFFIX, f"{plots.SHARE_SUFFIX}_real")


def is_sample_quality(name: str) -> bool:
    """Whether a logged value is a `KIDLog`'s, in any feature space (with its prefix), or
    one of its image scores."""
    return name.endswith(SAMPLE_QUALITY + IMAGE_SCORE)


class SampleGrids(keras.callbacks.Callback):
    """After every epoch, draws `make_images()` (images in [0, 1]) into one PNG grid, and at
    the end of training animates all the grids into a GIF: how a generative model learns.

    Args:
        make_images: () -> images (N, H, W, 3) in [0, 1]; the same latents each call.
        folder: where epoch_NNN.png go; the GIF goes beside it, as `folder`.gif.
        title: of each grid, before ", epoch N".
    """

    def __init__(self, make_images: Callable[[], Tensor], folder: str | Path, title: str):
        super().__init__()
        self.make_images, self.folder, self.title = make_images, Path(folder), title

    def on_epoch_end(self, epoch, logs=None):
        images = np.asarray(keras.ops.convert_to_numpy(self.make_images()))
        plots.plot_image_grid(
            images,
            self.folder / f"epoch_{epoch + 1:03d}.png",
            title=f"{self.title}, epoch {epoch + 1}",
        )

    def on_train_end(self, logs=None):
        frames = sorted(self.folder.glob("epoch_*.png"))
        if frames:
            plots.animate(frames, self.folder.with_suffix(".gif"))


class KIDLog(keras.callbacks.Callback):
    """Adds KID and precision, recall, density and coverage to the logs, each with its
    real-vs-real value.

    `kid`, `kid_std`: the mean and standard deviation over random subsets
    (`zoo.metrics.kid_spread`) of the KID between held-out real images and `count` images
    from `make_images(count)`, both in [0, 1]. `precision`, `recall`, `density`, `coverage`:
    `zoo.metrics.precision_recall_density_coverage` (k = 5) of the same images in the same
    features, the held-out images as the real set. `kid_floor` and `precision_real`, ...:
    the same with `count` `training_images` (or all, if fewer) in the generated images'
    place: what a model that drew the training set itself would score. With several feature
    spaces (`kid` a mapping), the same images are measured in each, and each space's names
    start with its prefix (the recipes: "" for --kid-features', `random_conv_` for a random
    embedding's). Measured after the
    first epoch, every `every` epochs and the last one (also when `EpochClock`, which runs
    before it, ends the fit early); other epochs log NaN, so every row of history.csv has
    the columns (CSVLogger fixes its columns once). `image_scores` are measured on the same
    images themselves, not in a feature space: each `name` beside `name_real`, its value for
    the training images.

    Args:
        kid: a `zoo.metrics.KID`, whose feature extractor serves every measure; or
            {prefix: KID}, one for each feature space.
        real_images: the held-out images (N, H, W, 3) in [0, 1].
        make_images: count -> that many new images in [0, 1].
        every: measure every this many epochs (and after the first and the last).
        count: images generated per measurement.
        training_images: for the real-vs-real values; None: they stay NaN.
        image_scores: {name ending in "_share": images (N, H, W, 3) in [0, 1] -> the share
            of them that pass a test}, such as `zoo.datasets.flower_check.clean_flowers`'
            mean for the built-in flowers; None: none.
    """

    def __init__(
        self,
        kid: metrics.KID | Mapping[str, metrics.KID],
        real_images: ArrayLike,
        make_images: Callable[[int], Tensor],
        every: int = 5,
        count: int = 500,
        training_images: ArrayLike | None = None,
        image_scores: Mapping[str, Callable[[np.ndarray], float]] | None = None,
    ):
        super().__init__()
        self.spaces = {"": kid} if isinstance(kid, metrics.KID) else dict(kid)
        self.image_scores = dict(image_scores or {})
        for name in self.image_scores:
            if not name.endswith(plots.SHARE_SUFFIX):
                raise ValueError(f"KIDLog image score {name!r}: a share, named '..._share'")
        self.real_images, self.make_images, self.every = real_images, make_images, every
        self.count, self.training_images = count, training_images
        self.real_features = None  # {prefix: the held-out images' features}
        # the real-vs-real values, NaN until the training images' are measured
        self.reference = self._named(
            dict.fromkeys(("kid_floor", *(f"{name}_real" for name in PRDC)), float("nan"))
        ) | {f"{name}_real": float("nan") for name in self.image_scores}

    def _named(self, values):
        """{name: value} -> the same under every space's prefix."""
        return {prefix + name: value for prefix in self.spaces for name, value in values.items()}

    def measure(self) -> dict[str, float]:
        """{kid, kid_std, precision, recall, density, coverage} of `count` new images, now,
        in each feature space (its names prefixed), and their image scores."""
        self._measure_real_images()
        generated = np.asarray(keras.ops.convert_to_numpy(self.make_images(self.count)))
        return {
            prefix + name: value
            for prefix, kid in self.spaces.items()
            for name, value in self._scores(prefix, kid.features(generated)).items()
        } | {name: float(score(generated)) for name, score in self.image_scores.items()}

    def _scores(self, prefix, features):
        real_features = self.real_features[prefix]
        kid, kid_std = metrics.kid_spread(real_features, features)
        if min(len(real_features), len(features)) > NEIGHBOURS:
            balls = metrics.precision_recall_density_coverage(real_features, features, NEIGHBOURS)
        else:  # too few images for k-nearest-neighbour balls (a tiny test set)
            balls = dict.fromkeys(PRDC, float("nan"))
        return {"kid": kid, "kid_std": kid_std, **balls}

    def _measure_real_images(self):
        if self.real_features is not None:  # once per process: the real images never change
            return
        self.real_features = {
            prefix: kid.features(self.real_images) for prefix, kid in self.spaces.items()
        }
        if self.training_images is not None:
            chosen = np.random.default_rng(0).permutation(len(self.training_images))
            training = self.training_images[np.sort(chosen[: self.count])]
            for prefix, kid in self.spaces.items():
                scores = self._scores(prefix, kid.features(training))
                self.reference[prefix + "kid_floor"] = scores["kid"]
                for name in PRDC:
                    self.reference[f"{prefix}{name}_real"] = scores[name]
            for name, score in self.image_scores.items():
                self.reference[f"{name}_real"] = float(score(training))

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        last = done == self.params.get("epochs") or self.model.stop_training  # --time-limit
        if done == 1 or done % self.every == 0 or last:
            scores = self.measure()
        else:
            self._measure_real_images()  # the real-vs-real values, on every row
            scores = self._named(dict.fromkeys(("kid", "kid_std", *PRDC), float("nan")))
            scores |= dict.fromkeys(self.image_scores, float("nan"))
        if logs is not None:
            logs.update(scores | self.reference)


class EpochClock(keras.callbacks.Callback):
    """Adds `epoch_seconds`, the wall time of each epoch, to the logs (and so to history.csv).

    Summed over history.csv it gives a run's training time, across --resume too. With a
    `limit` (seconds), it stops the fit after the epoch past which one more epoch as long as
    the last would take the training time (`already` spent before this fit, plus this fit's
    epochs) over the limit.

    Args:
        limit: seconds of training; None: no limit.
        already: seconds trained before this fit (a resumed run's).
    """

    def __init__(self, limit: float | None = None, already: float = 0.0):
        super().__init__()
        self.limit = limit
        self.trained = already

    def on_epoch_begin(self, epoch, logs=None):
        self.began = time.time()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.time() - self.began
        self.trained += seconds
        if logs is not None:
            logs["epoch_seconds"] = seconds
        if self.limit is not None and self.trained + seconds > self.limit:
            print(
                f"Time limit: {self.trained / 60:.1f} min trained; another epoch would "
                f"pass {self.limit / 60:g} min, so training stops after epoch {epoch + 1}"
            )
            self.model.stop_training = True
