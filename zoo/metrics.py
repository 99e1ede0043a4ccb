"""How good a model's outputs are: KID for generated images, BLEU for translations.

    kid = zoo.metrics.KID(zoo.metrics.inception_features())     # ImageNet InceptionV3
    kid = zoo.metrics.KID(zoo.metrics.classifier_features("flowers.keras"))  # or a zoo classifier
    kid(real_images, generated_images)          # images (N, H, W, 3) in [0, 1] -> float

KID (Binkowski et al., 2018, "Demystifying MMD GANs") compares two image sets by the
features an image classifier computes for them: the squared maximum mean discrepancy with the
cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, estimated without bias. Unlike FID it has
no bias towards small sets, so it means something for a few hundred images; it is about 0
for two samples of one distribution (an unbiased estimate, so it can dip slightly below 0)
and grows as the sets differ. Values depend on the feature extractor: compare KIDs only when
they were measured with the same one.

    zoo.metrics.corpus_bleu(references, translations)           # sentences -> BLEU-4 in [0, 1]
    zoo.metrics.sentence_bleu_smoothed(references, translations)

BLEU (Papineni et al., 2002) as nltk computes it, on space-separated words; the vocabularies'
special tokens (<pad>, <unk>, <start>, <end>) are removed from both sides first, so they
are never counted as words.
"""

import warnings

import keras
import numpy as np
from nltk.translate import bleu_score

__all__ = ["KID", "classifier_features", "corpus_bleu", "inception_features",
           "kernel_inception_distance", "sentence_bleu_smoothed"]


def kernel_inception_distance(real_features, generated_features):
    """Unbiased MMD^2 between features (n, d) and (m, d), cubic polynomial kernel -> float.

    Computed in float64 NumPy: it is evaluation only, and sums of n^2 kernel values lose
    digits in float32.
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

    return float(mean_off_diagonal(kernel(real, real))
                 + mean_off_diagonal(kernel(generated, generated))
                 - 2.0 * kernel(real, generated).mean())


class KID:
    """Kernel inception distance between real and generated images, through a pluggable
    feature extractor: a callable (B, H, W, 3) floats in [0, 1] -> (B, d).

    `kid(real, generated)` -> float. To score many generated sets against one real set, as a
    training callback does, compute `real_features = kid.features(real)` once and call
    `kid.from_features(real_features, generated)`.
    """

    def __init__(self, feature_extractor, batch_size=64):
        self.feature_extractor, self.batch_size = feature_extractor, batch_size

    def features(self, images):
        """(N, H, W, 3) in [0, 1] -> (N, d) NumPy features, computed in batches."""
        images = np.asarray(images, dtype="float32")
        batches = [self.feature_extractor(images[start : start + self.batch_size])
                   for start in range(0, len(images), self.batch_size)]
        return np.concatenate([keras.ops.convert_to_numpy(b) for b in batches])

    def from_features(self, real_features, generated_images):
        return kernel_inception_distance(real_features, self.features(generated_images))

    def __call__(self, real_images, generated_images):
        return self.from_features(self.features(real_images), generated_images)


def inception_features(weights="imagenet", image_size=75):
    """ImageNet InceptionV3's pooled features (B, 2048), the standard KID extractor.

    Images in [0, 1] are resized to `image_size` (75, the smallest InceptionV3 takes, keeps
    it affordable on a CPU; the paper used 299) and scaled to [-1, 1] as InceptionV3 expects.
    `weights="imagenet"` downloads them once (about 90 MB) into the Keras cache.
    """
    return keras.Sequential(
        [
            keras.Input((None, None, 3)),
            keras.layers.Resizing(image_size, image_size),
            keras.layers.Rescaling(2.0, offset=-1.0),
            keras.applications.InceptionV3(include_top=False, weights=weights, pooling="avg",
                                           input_shape=(image_size, image_size, 3)),
        ],
        name="inception_features",
    )


def classifier_features(classifier):
    """A trained `zoo.CompactCNN` (or the path of its `.keras` file) as a KID extractor:
    images in [0, 1] -> its pooled features (B, filters[-1]).

    Where ImageNet weights cannot be had, a classifier trained on the real images' own
    classes (`tools/flower_classifier.py` for Oxford 17) gives features that tell the
    classes, and so what a flower looks like, apart.
    """
    if not hasattr(classifier, "features"):
        import zoo  # noqa: F401  (registers CompactCNN, so load_model can rebuild it)

        classifier = keras.saving.load_model(classifier)
    size = classifier.image_size

    def extract(images):
        return classifier.features(keras.ops.image.resize(images, (size, size)) * 255.0)

    return extract


# BLEU ------------------------------------------------------------------------------------

_SPECIAL_TOKENS = {"<pad>", "<unk>", "<start>", "<end>"}


def _words(sentence):
    words = sentence.split() if isinstance(sentence, str) else list(sentence)
    return [word for word in words if word not in _SPECIAL_TOKENS]


def corpus_bleu(references, translations):
    """Corpus BLEU-4 in [0, 1] (nltk `corpus_bleu`): one reference per translation, each a
    sentence string or a list of words. n-gram matches are pooled over the corpus."""
    with warnings.catch_warnings():  # nltk warns whenever some n-gram order has no match
        warnings.simplefilter("ignore")
        return float(bleu_score.corpus_bleu([[_words(r)] for r in references],
                                            [_words(t) for t in translations]))


def sentence_bleu_smoothed(references, translations):
    """The mean of per-sentence BLEU-4 with nltk's `SmoothingFunction().method1`, which
    gives a short sentence without a 4-gram match a small score instead of 0."""
    smoothing = bleu_score.SmoothingFunction().method1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = [bleu_score.sentence_bleu([_words(r)], _words(t), smoothing_function=smoothing)
                  for r, t in zip(references, translations)]
    return float(np.mean(scores)) if scores else 0.0
