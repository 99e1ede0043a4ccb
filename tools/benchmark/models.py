"""The benchmarked models: what one sample is, their full and quick sizes, and how to build
zoo's model and its reference with synthetic data of the real shapes."""

import numpy as np

from benchmark.references import (
    ReferenceGAN,
    classifier_data,
    reference_cnn,
    reference_translator,
    reference_vae,
    summed_binary_crossentropy,
)

MODELS = {
    "small-cnn": {
        "unit": "images",
        "full": {"image_size": 150, "batch_size": 32},
        "quick": {"image_size": 32, "batch_size": 8},
    },
    "compact-cnn": {
        "unit": "images",
        "full": {"image_size": 128, "batch_size": 32},
        "quick": {"image_size": 32, "batch_size": 8},
    },
    "dcgan": {
        "unit": "images",
        "full": {"image_size": 64, "batch_size": 64},
        "quick": {"image_size": 32, "batch_size": 8},
    },
    # The GAN recipe's DCGAN at its batch size with DiffAugment on (as for Oxford 17), against
    # itself without DiffAugment and the generator's moving average (its "reference"): its
    # share of the limit, and what they cost.
    "dcgan-augment-ema": {
        "unit": "images",
        "full": {"image_size": 64, "batch_size": 16},
        "quick": {"image_size": 32, "batch_size": 8},
    },
    "vae": {
        "unit": "images",
        "full": {"image_size": 64, "batch_size": 64},
        "quick": {"image_size": 32, "batch_size": 8},
    },
    "transformer": {
        "unit": "sentences",
        "full": {"length": 16, "vocab": 8000, "batch_size": 64},
        "quick": {"length": 8, "vocab": 100, "batch_size": 8},
    },
    "seq2seq": {
        "unit": "sentences",
        "full": {"length": 16, "vocab": 8000, "batch_size": 64},
        "quick": {"length": 8, "vocab": 100, "batch_size": 8},
    },
}


def model_sizes(model_name, settings):
    """The sizes `model_name` is measured at: its full or quick ones, with the batch size
    --batch-size gave, if any (settings: the run's, as the report keeps them)."""
    sizes = dict(MODELS[model_name]["quick" if settings["quick"] else "full"])
    if settings.get("batch_size"):
        sizes["batch_size"] = settings["batch_size"]
    return sizes


def build(model_name, variant, sizes):
    """-> (model compiled for training, its training data (x, y) for `count` samples as a
    function, its inference inputs as a function of `count`)."""
    import keras

    import zoo

    rng = np.random.default_rng(0)
    if model_name in ("small-cnn", "compact-cnn"):
        size = sizes["image_size"]
        if variant == "zoo":
            model = (zoo.SmallCNN if model_name == "small-cnn" else zoo.CompactCNN)(size)
        else:
            model = reference_cnn(model_name, size)
        model.compile("adam", "binary_crossentropy", metrics=["accuracy"])

        training_data, images = classifier_data(size, rng)
        return model, training_data, images

    if model_name in ("dcgan", "dcgan-augment-ema", "vae"):
        size = sizes["image_size"]

        def images(count):  # [0, 1] for zoo's models, [-1, 1] for the plain-Keras GAN
            pixels = rng.random((count, size, size, 3), dtype=np.float32)
            return pixels * 2 - 1 if model_name == "dcgan" and variant != "zoo" else pixels

        if model_name == "dcgan":  # the paper's architecture, as the reference has it
            model = zoo.DCGAN.paper(image_size=size) if variant == "zoo" else ReferenceGAN(size)
        elif model_name == "dcgan-augment-ema":
            # The GAN recipe's DCGAN with DiffAugment; its "reference" is the same model
            # without DiffAugment and the weight average, so the pair's ratio is what they cost.
            model = (
                zoo.DCGAN(image_size=size, augment=("translation", "cutout"))
                if variant == "zoo"
                else zoo.DCGAN(image_size=size, augment=(), ema_momentum=None)
            )
        if model_name != "vae":
            model.compile()
            latents = lambda count: rng.normal(size=(count, 100)).astype("float32")  # noqa: E731
            return model, lambda count: (images(count), None), latents
        model = zoo.VAE(image_size=size) if variant == "zoo" else reference_vae(size)
        if variant == "zoo":
            model.compile(keras.optimizers.Adam(1e-3))
            return model, lambda count: (images(count), None), images
        model.compile(keras.optimizers.Adam(1e-3), loss=summed_binary_crossentropy)
        return model, lambda count: (lambda x: (x, x))(images(count)), images

    length, vocab = sizes["length"], sizes["vocab"]
    if variant == "zoo":
        model = (
            zoo.Transformer(vocab, vocab)
            if model_name == "transformer"
            else zoo.Seq2SeqAttention(vocab, vocab)
        )
    else:
        model = reference_translator(model_name, vocab, length)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def sentences(count):  # every sentence `length` tokens, no padding: the same work for both
        ids = lambda: rng.integers(4, vocab, (count, length)).astype("int32")  # noqa: E731
        return (ids(), ids())

    return (
        model,
        lambda count: (sentences(count), rng.integers(4, vocab, (count, length))),
        sentences,
    )
