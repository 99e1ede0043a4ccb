"""How good a model's outputs are: KID for generated images, BLEU for translations.

    kid = zoo.metrics.KID(zoo.metrics.inception_features())     # ImageNet InceptionV3
    kid = zoo.metrics.KID(zoo.metrics.classifier_features("flowers.keras"))  # or a zoo classifier
    kid(real_images, generated_images)          # images (N, H, W, 3) in [0, 1] -> float
    kid.spread(real_images, generated_images)   # -> (mean, std) over random subsets
    zoo.metrics.checkerboard_share(images)      # share of spectral power at periods 2 and 4
    zoo.metrics.precision_recall_density_coverage(real_features, generated_features, k=5)

KID (Binkowski et al., 2018, "Demystifying MMD GANs") compares two image sets by the
features an image classifier computes for them: the squared maximum mean discrepancy with the
cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, estimated without bias. Unlike FID it has
no bias towards small sets, so it means something for a few hundred images; it is about 0
for two samples of one distribution (an unbiased estimate, so it can dip slightly below 0)
and grows as the sets differ. One number mixes two failures, though: samples that look like
no real image (fidelity) and real images that no sample resembles (diversity).
`precision_recall_density_coverage` keeps them apart, in the same feature space. Values
depend on the feature extractor: compare KIDs only when they were measured with the same one.
One estimate from a hundred images swings a lot, so `KID.spread` reports the mean and
standard deviation over random subsets, as clean-fid and torchmetrics do; the KID between
two sets of real images (held-out against training) gives the floor a model can hope for
with the same extractor.

    zoo.metrics.corpus_bleu(references, translations)           # sentences -> BLEU-4 in [0, 1]
    zoo.metrics.sentence_bleu_smoothed(references, translations)
    zoo.metrics.sacrebleu_corpus(references, translations)      # -> (0-100, signature)

BLEU (Papineni et al., 2002) as nltk computes it, on space-separated words, and as sacreBLEU
(Post, 2018) computes it, the number translation papers and model cards give, with its
signature. The markers a decoder may leave (<pad>, <start>, <end>) are removed from both
sides first; an <unk> in a translation stays, a word that matches no reference word, as a
wrong word would.
"""

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import sacrebleu

from zoo.typing import ArrayLike, Tensor

Words = str | Sequence[str]  # a sentence, or its words

__all__ = [
    "KID",
    "PRDC",
    "checkerboard_share",
    "classifier_features",
    "corpus_bleu",
    "inception_features",
    "kernel_inception_distance",
    "kid_spread",
    "precision_recall_density_coverage",
    "random_conv_features",
    "sacrebleu_corpus",
    "sentence_bleu_smoothed",
]


def kernel_inception_distance(real_features: ArrayLike, generated_features: ArrayLike) -> float:
    """Unbiased MMD^2 between two sets of features, with the cubic polynomial kernel.

    Computed in float64 NumPy: it is evaluation only, and sums of n^2 kernel values lose
    digits in float32.

    Args:
        real_features: (n, d), n >= 2.
        generated_features: (m, d), m >= 2.

    Returns:
        The KID: about 0 for two draws of one distribution (it can be slightly negative).
    """
    real = np.asarray(real_features, dtype=np.float64)
    generated = np.asarray(generated_features, dtype=np.float64)
    if real.ndim != 2 or generated.ndim != 2 or real.shape[1] != generated.shape[1]:
        raise ValueError(f"need features (n, d) and (m, d), got {real.shape} and {generated.shape}")
    n, m = len(real), len(generated)
    if n < 2 or m < 2:
        raise ValueError(f"need at least 2 images per set, got {n} and {m}")
    dimensions = real.shape[1]

    def kernel(a, b):
        return (a @ b.T / dimensions + 1.0) ** 3

    def mean_off_diagonal(k):  # a sample's kernel with itself would bias the estimate
        return (k.sum() - np.trace(k)) / (len(k) * (len(k) - 1))

    return float(
        mean_off_diagonal(kernel(real, real))
        + mean_off_diagonal(kernel(generated, generated))
        - 2.0 * kernel(real, generated).mean()
    )


def kid_spread(
    real_features: ArrayLike,
    generated_features: ArrayLike,
    subsets: int = 50,
    subset_size: int | None = None,
    seed: int = 0,
) -> tuple[float, float]:
    """`kernel_inception_distance` over random subsets drawn without replacement from each
    set.

    Args:
        real_features: (n, d).
        generated_features: (m, d).
        subsets: how many subset pairs are drawn.
        subset_size: images per subset; None: half the smaller set (at most 1,000), so
            that the subsets differ from each other.
        seed: of the draws.

    Returns:
        (mean, standard deviation) of the subsets' KIDs.
    """
    real, generated = np.asarray(real_features), np.asarray(generated_features)
    size = subset_size or min(1000, max(2, min(len(real), len(generated)) // 2))
    if size > min(len(real), len(generated)):
        raise ValueError(
            f"subset_size {size} is larger than a set ({len(real)} real, "
            f"{len(generated)} generated)"
        )
    rng = np.random.default_rng(seed)
    values = [
        kernel_inception_distance(
            real[rng.choice(len(real), size, replace=False)],
            generated[rng.choice(len(generated), size, replace=False)],
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


PRDC = ("precision", "recall", "density", "coverage")  # what the function below returns


def precision_recall_density_coverage(
    real_features: ArrayLike, generated_features: ArrayLike, k: int = 5
) -> dict[str, float]:
    """Fidelity and diversity of generated samples, as four numbers from k-nearest-neighbour
    balls in a feature space: features (n, d) of real images and (m, d) of generated ones
    -> {"precision", "recall", "density", "coverage"}.

    Each point's ball reaches its k-th nearest neighbour in its own set (Euclidean).

    * precision (Kynkaenniemi et al., 2019): the share of generated points inside some real
      ball: samples that look like real images.
    * recall: the share of real points inside some generated ball: real images the samples
      reach.
    * density (Naeem et al., 2020): how many real balls hold each generated point, over k,
      averaged: about 1 when both sets come from one distribution, above 1 where samples
      crowd the densest real regions, not capped at 1; an outlier real image (a large ball)
      fools it less than precision.
    * coverage: the share of real points whose own ball holds a generated point: about
      0.97 for two equal-sized sets of one distribution at k = 5, low for a collapsed
      generator.

    As the `prdc` reference computes them (clovaai/generative-evaluation-prdc), comparisons
    with a strict `<`: a duplicated point has a ball of radius 0 that holds nothing.

    Args:
        real_features: (n, d), n > k.
        generated_features: (m, d), m > k.
        k: the neighbour whose distance is a point's radius.

    Returns:
        {"precision", "recall", "density", "coverage"}: floats in [0, 1], but density in
        [0, n / k].
    """
    real = np.asarray(real_features, dtype=np.float64)
    generated = np.asarray(generated_features, dtype=np.float64)
    if real.ndim != 2 or generated.ndim != 2 or real.shape[1] != generated.shape[1]:
        raise ValueError(f"need features (n, d) and (m, d), got {real.shape} and {generated.shape}")
    if min(len(real), len(generated)) <= k:
        raise ValueError(
            f"need more than k={k} points per set, got {len(real)} real and "
            f"{len(generated)} generated"
        )
    real_radii = _kth_neighbour_distance(real, k)
    generated_radii = _kth_neighbour_distance(generated, k)
    distances = _pairwise_distances(real, generated)  # (n, m)
    inside_real = distances < real_radii[:, None]  # generated j in real i's ball
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float((distances < generated_radii[None, :]).any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k),
        "coverage": float((distances.min(axis=1) < real_radii).mean()),
    }


def _pairwise_distances(a, b):
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def _kth_neighbour_distance(points, k):
    """The distance from each point to its k-th nearest other point."""
    distances = _pairwise_distances(points, points)
    return np.partition(distances, k, axis=1)[:, k]  # column 0 is the point itself


class KID:
    """Kernel inception distance between real and generated images, through a pluggable
    feature extractor: a callable (B, H, W, 3) floats in [0, 1] -> (B, d).

    `kid(real, generated)` -> float. To score many generated sets against one real set, as a
    training callback does, compute `real_features = kid.features(real)` once and call
    `kid.from_features(real_features, generated)`.

    Args:
        feature_extractor: images (B, H, W, 3) in [0, 1] -> features (B, d): a Keras model
            or any callable (`inception_features()`, `random_conv_features()`,
            `classifier_features(...)`).
        batch_size: images given to the extractor at a time.
    """

    def __init__(self, feature_extractor: Callable[[Tensor], Tensor], batch_size: int = 64):
        self.feature_extractor, self.batch_size = feature_extractor, batch_size

    def features(self, images: ArrayLike) -> np.ndarray:
        """(N, H, W, 3) in [0, 1] -> (N, d) NumPy features, computed in batches."""
        images = np.asarray(images, dtype="float32")
        batches = [
            self.feature_extractor(images[start : start + self.batch_size])
            for start in range(0, len(images), self.batch_size)
        ]
        return np.concatenate([keras.ops.convert_to_numpy(b) for b in batches])

    def from_features(self, real_features: ArrayLike, generated_images: ArrayLike) -> float:
        """KID of generated images (M, H, W, 3) in [0, 1] against real features (n, d)."""
        return kernel_inception_distance(real_features, self.features(generated_images))

    def __call__(self, real_images: ArrayLike, generated_images: ArrayLike) -> float:
        """KID between two image sets (N, H, W, 3) and (M, H, W, 3) in [0, 1]."""
        return self.from_features(self.features(real_images), generated_images)

    def spread(
        self, real_images: ArrayLike, generated_images: ArrayLike, **subsets: int
    ) -> tuple[float, float]:
        """(mean, std) of the KID over random subsets (see `kid_spread`)."""
        return kid_spread(self.features(real_images), self.features(generated_images), **subsets)


def checkerboard_share(images: Tensor) -> float:
    """The share of an image batch's 2-D spectral power at the checkerboard frequencies.

    Each image's channels have their mean
    removed (the zero frequency carries no pattern), then the power |FFT2|^2 is summed at the
    frequencies of periods 2 and 4 pixels along the rows, the columns and the diagonals
    (H/2, H/4 and 3H/4 along an axis, 0 or one of those along the other), and divided by the
    power at every frequency. Natural images and smooth drawings have little power there;
    the stride-2 transposed convolutions' uneven overlap puts a pattern of period 2 (and 4,
    two layers deep) on every sample.

    Args:
        images: (N, H, W, C), H and W multiples of 4; a tensor or an array.

    Returns:
        The share, in [0, 1].
    """
    images = np.asarray(keras.ops.convert_to_numpy(images), dtype=np.float64)
    if images.ndim != 4 or images.shape[1] % 4 or images.shape[2] % 4:
        raise ValueError(
            f"need images (N, H, W, C) with H and W multiples of 4, got {images.shape}"
        )
    _, height, width, _ = images.shape
    images = images - images.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(images, axes=(1, 2))) ** 2
    rows = [0, height // 4, height // 2, 3 * height // 4]
    columns = [0, width // 4, width // 2, 3 * width // 4]
    at_pattern = np.zeros((height, width), bool)
    at_pattern[np.ix_(rows, columns)] = True
    at_pattern[0, 0] = False
    total = power.sum()
    return float(power[:, at_pattern].sum() / total) if total > 0 else 0.0


def inception_features(weights: str | None = "imagenet", image_size: int = 75) -> keras.Model:
    """ImageNet InceptionV3's pooled features (B, 2048), the standard KID extractor.

    Images in [0, 1] are resized to `image_size` (75, the smallest InceptionV3 takes, keeps
    it affordable on a CPU; the paper used 299) and scaled to [-1, 1] as InceptionV3 expects.
    `weights="imagenet"` downloads them once (about 90 MB) into the Keras cache.

    Args:
        weights: "imagenet", None (random: for tests) or the path of a weights file.
        image_size: the side images are resized to, at least 75.

    Returns:
        A model: images (B, H, W, 3) in [0, 1] -> (B, 2048).
    """
    return keras.Sequential(
        [
            keras.Input((None, None, 3)),
            keras.layers.Resizing(image_size, image_size),
            keras.layers.Rescaling(2.0, offset=-1.0),
            keras.applications.InceptionV3(
                include_top=False,
                weights=weights,
                pooling="avg",
                input_shape=(image_size, image_size, 3),
            ),
        ],
        name="inception_features",
    )


def random_conv_features(widths: Sequence[int] = (32, 64, 128, 256), seed: int = 0) -> keras.Model:
    """A randomly initialised convolutional embedding (Naeem et al., 2020, found such
    features as telling for density and coverage as ImageNet's): images (B, H, W, 3) in
    [0, 1] -> (B, sum(widths)) features, the global maxima of every layer's ReLU maps.

    Each layer is a 3x3 stride-2 convolution with He-normal weights drawn by NumPy from
    `seed`, so the features are the same on every backend and in every process. The first
    layers see colour and edges, the deeper ones how they are arranged: where a classifier
    trained on petal counts learns to ignore hue, this embedding keeps it. Maxima, not means:
    a mean mixes the hues of a many-hued flower into the colour of some one-hued flower.

    Args:
        widths: each layer's channels.
        seed: of the weights.

    Returns:
        A model: images (B, H, W, 3) in [0, 1] -> (B, sum(widths)).
    """
    rng = np.random.default_rng(seed)
    model = keras.Sequential(
        [keras.Input((None, None, 3)), keras.layers.Rescaling(2.0, -1.0)],
        name="random_conv_features",
    )
    inputs, pooled, maps = model.inputs[0], [], model.outputs[0]
    channels = 3
    for width in widths:
        conv = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")
        maps = conv(maps)
        conv.set_weights(
            [
                rng.normal(0, np.sqrt(2 / (9 * channels)), (3, 3, channels, width)).astype(
                    "float32"
                ),
                np.zeros(width, "float32"),
            ]
        )
        pooled.append(keras.layers.GlobalMaxPooling2D()(maps))
        channels = width
    return keras.Model(inputs, keras.layers.Concatenate()(pooled), name="random_conv_features")


def classifier_features(classifier: keras.Model | str | Path) -> Callable[[Tensor], Tensor]:
    """A trained `zoo.CompactCNN` (or the path of its `.keras` file) as a KID extractor:
    images in [0, 1] -> its pooled features (B, filters[-1]).

    Where ImageNet weights cannot be had, a classifier trained on the real images' own
    classes (`recipes/flower_classifier.py` for Oxford 17) gives features that tell the
    classes, and so what a flower looks like, apart.

    Args:
        classifier: a `zoo.CompactCNN`, or the path of its `.keras` file.

    Returns:
        A function: images (B, H, W, 3) in [0, 1], any size -> (B, filters[-1]).
    """
    if not hasattr(classifier, "features"):
        import zoo  # noqa: F401  (registers CompactCNN, so load_model can rebuild it)

        classifier = keras.saving.load_model(classifier)
    size = classifier.image_size

    def extract(images):
        return classifier.features(keras.ops.image.resize(images, (size, size)) * 255.0)

    return extract


# BLEU ------------------------------------------------------------------------------------

_MARKERS = {"<pad>", "<start>", "<end>"}  # not <unk>: it stands for a word, a wrong one


def _words(sentence):
    words = sentence.split() if isinstance(sentence, str) else list(sentence)
    return [word for word in words if word not in _MARKERS]


def corpus_bleu(references: Sequence[Words], translations: Sequence[Words]) -> float:
    """Corpus BLEU-4 in [0, 1] (nltk `corpus_bleu`); n-gram matches are pooled over the
    corpus.

    Args:
        references: one per translation, each a sentence string or a list of words.
        translations: the same count, in the same form.
    """
    from nltk.translate import bleu_score  # here, not at the top: 0.75 s of every `import zoo`

    with warnings.catch_warnings():  # nltk warns whenever some n-gram order has no match
        warnings.simplefilter("ignore")
        return float(
            bleu_score.corpus_bleu(
                [[_words(r)] for r in references], [_words(t) for t in translations]
            )
        )


def sentence_bleu_smoothed(references: Sequence[Words], translations: Sequence[Words]) -> float:
    """The mean of per-sentence BLEU-4 with nltk's `SmoothingFunction().method1`, which
    gives a short sentence without a 4-gram match a small score instead of 0; in [0, 1].

    Args:
        references: one per translation, each a sentence string or a list of words.
        translations: the same count, in the same form.
    """
    from nltk.translate import bleu_score

    smoothing = bleu_score.SmoothingFunction().method1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = [
            bleu_score.sentence_bleu([_words(r)], _words(t), smoothing_function=smoothing)
            for r, t in zip(references, translations)
        ]
    return float(np.mean(scores)) if scores else 0.0


def sacrebleu_corpus(
    references: Sequence[Words], translations: Sequence[Words]
) -> tuple[float, str]:
    """sacreBLEU's corpus BLEU (0-100, its defaults: 13a tokenization, exponential smoothing)
    of the same sentences -> (score, signature string).

    On the recipes' cleaned, lower-case text it equals `corpus_bleu` * 100 once every n-gram
    order has a match (for a zero count sacreBLEU smooths, nltk gives about 0): a check that
    the two agree, and the number that sits next to published ones. An <unk> is passed as
    `UNK`, one token (13a would cut `<unk>` into three) that no lower-case reference word
    matches.

    Args:
        references: one per translation, each a sentence string or a list of words.
        translations: the same count, in the same form.
    """

    def text(sentence):
        return " ".join("UNK" if word == "<unk>" else word for word in _words(sentence))

    bleu = sacrebleu.metrics.BLEU()
    score = bleu.corpus_score([text(t) for t in translations], [[text(r) for r in references]])
    return float(score.score), str(bleu.get_signature())
