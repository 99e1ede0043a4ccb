"""Every zoo model on every backend, against plain Keras and against the machine's limit.

    python tools/bench.py                                    # all models, all backends
    python tools/bench.py --models small-cnn,transformer --backends jax --repeats 7
    python tools/bench.py --quick --out /tmp/bench           # tiny sizes: checks the tool
    python tools/bench.py --rewrite /tmp/bench/BENCHMARKS.json  # its BENCHMARKS.md again
    python tools/bench.py --allocator keep    # as zoo's recipes run: zoo.keep_freed_memory()
    python tools/bench.py --models small-cnn --batch-size 128  # not the recipes' batch size

Writes BENCHMARKS.md and BENCHMARKS.json (in --out, by default the project root).

What it measures, for each model on each backend, in three subprocesses of their own (so one
backend's threads, caches and memory do not leak into the next measurement):
- zoo alone, then the reference alone: the time to the first finished step (from calling
  `fit` to the end of the first batch: the tracing and compilation a user waits for), then
  --warmup - 1 more steps; inference throughput (`predict` over 5 x --steps batches,
  after one warm-up call); the subprocess's peak resident memory (`wait4`'s ru_maxrss);
- both together: training throughput, `fit` on synthetic data of the real shapes. After
  --warmup steps of each, --repeats rounds of one window of --steps steps of each, the order
  swapped every round; a window's time is the sum of its steps' (from a step's begin to its
  end callback). Throughput is the median window; the ratio zoo/reference the median of the
  rounds' ratios, with how many rounds zoo won and a 95% confidence interval for that
  median (`median_interval`: distribution-free, from the rounds' order statistics), so a
  reader can tell a real difference from the rounds' scatter. Taking turns within one
  process matters: between separate processes minutes apart, the same two models' ratio
  moved by up to 0.1 from run to run on this kind of machine, more than most of the
  differences measured.
The reference is the same architecture written as a user would write it (`keras.Sequential`,
the functional API with keras-hub's Transformer layers, the classic two-model
`train_on_batch` GAN, a VAE whose KL term is an `add_loss`), default `compile`.

And, once per run: the machine's float32 matmul limit (NumPy, all cores, with the kernel
OpenBLAS picks for this CPU, see `matmul_limit_sample`; the best of one measurement before
the first subprocess and one after each), the training FLOPs
per sample of the conv models (counted from the layers, see `training_flops`) and so the
share of that limit each reached, and each image recipe's input pipeline alone on the real
images of ../shared/data (decoded once into the cache, then batches per second) and, for the
CNNs, on each backend, the augmentation those batches then go through (`augmented_images_per_s`).

`--allocator` is a setting of the whole process, so zoo and its reference always share it:
`system` (the default) measures with the C library's malloc as a plain script gets it, `keep`
with `zoo.keep_freed_memory()` as zoo's recipes call it (the report says which).
"""

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("tensorflow", "torch", "jax")
SHARED_DATA = ROOT.parent / "shared" / "data"


# The models: sizes, synthetic data, zoo model and plain-Keras reference ----------------------
# Each entry: what one sample is, the full and quick sizes, and how to build both models.

MODELS = {
    "small-cnn": {"unit": "images", "full": {"image_size": 150, "batch_size": 32},
                  "quick": {"image_size": 32, "batch_size": 8}},
    "compact-cnn": {"unit": "images", "full": {"image_size": 128, "batch_size": 32},
                    "quick": {"image_size": 32, "batch_size": 8}},
    "dcgan": {"unit": "images", "full": {"image_size": 64, "batch_size": 64},
              "quick": {"image_size": 32, "batch_size": 8}},
    # The GAN recipe's DCGAN against itself without DiffAugment and the generator's moving
    # average (its "reference"): what they cost.
    "dcgan-augment-ema": {"unit": "images", "full": {"image_size": 64, "batch_size": 32},
                          "quick": {"image_size": 32, "batch_size": 8}},
    "vae": {"unit": "images", "full": {"image_size": 64, "batch_size": 64},
            "quick": {"image_size": 32, "batch_size": 8}},
    "transformer": {"unit": "sentences",
                    "full": {"length": 16, "vocab": 8000, "batch_size": 64},
                    "quick": {"length": 8, "vocab": 100, "batch_size": 8}},
    "seq2seq": {"unit": "sentences", "full": {"length": 16, "vocab": 8000, "batch_size": 64},
                "quick": {"length": 8, "vocab": 100, "batch_size": 8}},
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
            model = (zoo.DCGAN(image_size=size, upsampling="transposed", augment=(),
                               ema_momentum=None)
                     if variant == "zoo" else ReferenceGAN(size))
        elif model_name == "dcgan-augment-ema":
            # The GAN recipe's default DCGAN; its "reference" is the same model without
            # DiffAugment and the weight average, so the pair's ratio is what they cost.
            recipe_default = {"filters": (32, 64, 128), "discriminator_filters": (32, 64, 128),
                              "dropout": 0.0}
            model = (zoo.DCGAN(image_size=size, **recipe_default) if variant == "zoo" else
                     zoo.DCGAN(image_size=size, augment=(), ema_momentum=None, **recipe_default))
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
        model = (zoo.Transformer(vocab, vocab, max_length=length + 2)
                 if model_name == "transformer" else zoo.Seq2SeqAttention(vocab, vocab))
    else:
        model = reference_translator(model_name, vocab, length)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def sentences(count):  # every sentence `length` tokens, no padding: the same work for both
        ids = lambda: rng.integers(4, vocab, (count, length)).astype("int32")  # noqa: E731
        return (ids(), ids())

    return (model, lambda count: (sentences(count), rng.integers(4, vocab, (count, length))),
            sentences)


def classifier_data(size, rng):
    """-> (count -> (uint8 images, 0/1 labels), count -> uint8 images), as the CNNs train."""
    def images(count):
        return rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)

    return lambda count: (images(count), rng.integers(0, 2, (count, 1))), images


def reference_cnn(model_name, size):
    from keras import Input, Sequential, layers

    stack = [Input((size, size, 3)), layers.Rescaling(1 / 255)]
    if model_name == "small-cnn":
        for count in (32, 64, 128):
            stack += [layers.Conv2D(count, 3, activation="relu"), layers.MaxPooling2D(2)]
        stack += [layers.Flatten(), layers.Dense(512, activation="relu"),
                  layers.Dense(1, activation="sigmoid")]
    else:
        for index, count in enumerate((16, 32, 64, 128, 256)):
            stack += [layers.Conv2D(count, 3, padding="same", use_bias=False),
                      layers.BatchNormalization(momentum=0.9), layers.ReLU()]
            if index < 4:
                stack.append(layers.MaxPooling2D(2))
        stack += [layers.GlobalAveragePooling2D(), layers.Dropout(0.3),
                  layers.Dense(1, activation="sigmoid")]
    return Sequential(stack)


class ReferenceGAN:
    """The classic Keras GAN: a compiled discriminator, and generator + frozen discriminator
    compiled as one model; each step is two `train_on_batch` calls.

    Keras 2 fixed a model's trainable weights when it was compiled, so the classic code froze
    the discriminator once, between the two `compile` calls. Keras 3 reads `trainable` at every
    step: frozen once, the discriminator's own `train_on_batch` has no weights to train and
    only runs forward. So the step sets `trainable` before each call."""

    def __init__(self, size, latent_dim=100):
        import keras
        from keras import layers

        self.latent_dim, side = latent_dim, size // 8
        self.generator = keras.Sequential([
            keras.Input((latent_dim,)), layers.Dense(side * side * 256, use_bias=False),
            layers.BatchNormalization(), layers.ReLU(), layers.Reshape((side, side, 256)),
            layers.Conv2DTranspose(128, 4, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(), layers.ReLU(),
            layers.Conv2DTranspose(64, 4, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(), layers.ReLU(),
            layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh")])
        self.discriminator = keras.Sequential(
            [keras.Input((size, size, 3))]
            + [block for count in (64, 128, 256) for block in (
                layers.Conv2D(count, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
                layers.Dropout(0.3))]
            + [layers.Flatten(), layers.Dense(1)])

    def compile(self):
        import keras

        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        self.discriminator.compile(keras.optimizers.Adam(1e-4, beta_1=0.5), loss)
        latents = keras.Input((self.latent_dim,))
        self.combined = keras.Model(latents, self.discriminator(self.generator(latents)))
        self.combined.compile(keras.optimizers.Adam(1e-4, beta_1=0.5), loss)

    def train_step(self, real):
        count = len(real)
        noise = np.random.normal(size=(count, self.latent_dim)).astype("float32")
        fake = self.generator.predict_on_batch(noise)
        self.discriminator.trainable = True
        self.discriminator.train_on_batch(np.concatenate([real, fake]),
                                          np.concatenate([np.ones(count), np.zeros(count)]))
        self.discriminator.trainable = False
        self.combined.train_on_batch(noise, np.ones(count))

    def predict(self, latents, batch_size, verbose=0):
        return self.generator.predict(latents, batch_size=batch_size, verbose=verbose)


def reference_vae(size, latent_dim=128):
    """The keras.io VAE written with the functional API: the KL term is an `add_loss` of the
    sampling layer, the reconstruction loss the compiled loss."""
    import keras
    from keras import layers, ops

    class Sampling(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(0)

        def call(self, mean, log_variance):
            self.add_loss(ops.mean(-0.5 * ops.sum(
                1 + log_variance - ops.square(mean) - ops.exp(log_variance), axis=1)))
            epsilon = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
            return mean + ops.exp(0.5 * log_variance) * epsilon

    images = keras.Input((size, size, 3))
    x = images
    for count in (32, 64, 128):
        x = layers.Conv2D(count, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    latents = Sampling()(layers.Dense(latent_dim)(x), layers.Dense(latent_dim)(x))
    side = size // 8
    x = layers.Dense(side * side * 128, activation="relu")(latents)
    x = layers.Reshape((side, side, 128))(x)
    for count in (128, 64, 32):
        x = layers.Conv2DTranspose(count, 3, strides=2, padding="same", activation="relu")(x)
    return keras.Model(images, layers.Conv2DTranspose(3, 3, padding="same",
                                                      activation="sigmoid")(x))


def summed_binary_crossentropy(images, reconstructions):
    from keras import ops

    return ops.sum(ops.binary_crossentropy(images, reconstructions), axis=(1, 2, 3))


def reference_translator(model_name, vocab, length):
    """The tutorial versions: keras-hub's Transformer layers with sinusoidal positions (the
    keras.io English-Spanish example), or Keras LSTMs with `keras.layers.Attention`."""
    import keras
    from keras import layers

    source = keras.Input((None,), dtype="int32")
    target = keras.Input((None,), dtype="int32")
    if model_name == "transformer":
        import keras_hub

        def embed(ids):
            x = layers.Embedding(vocab, 64, mask_zero=True)(ids)
            return x + keras_hub.layers.SinePositionEncoding()(x)

        memory = embed(source)
        for _ in range(2):
            memory = keras_hub.layers.TransformerEncoder(128, 2, dropout=0.1)(memory)
        x = embed(target)
        for _ in range(2):
            x = keras_hub.layers.TransformerDecoder(128, 2, dropout=0.1)(x, memory)
        return keras.Model([source, target], layers.Dense(vocab)(x))
    memory, hidden, cell = layers.LSTM(128, return_sequences=True, return_state=True)(
        layers.Embedding(vocab, 64, mask_zero=True)(source))
    x = layers.LSTM(128, return_sequences=True)(
        layers.Embedding(vocab, 64, mask_zero=True)(target), initial_state=[hidden, cell])
    context = layers.Attention()([x, memory])
    return keras.Model([source, target],
                       layers.Dense(vocab)(layers.Concatenate()([x, context])))


# The measurements, inside their own subprocesses ------------------------------------------

class TrainingWindows:
    """Trains `model` on the same synthetic batches again and again; `run(steps)` trains that
    many steps (one `fit` call, or the GAN's `train_step` calls) and returns the seconds spent
    inside the steps (from each step's begin to its end), so `fit`'s own setup is not timed."""

    def __init__(self, model, training_data, batch_size, steps):
        self.model, self.batch_size = model, batch_size
        self.x, self.y = training_data(steps * batch_size)
        self.step_ends = []  # time.perf_counter() at the end of every step so far

    def run(self, steps):
        import keras

        count, times = steps * self.batch_size, []
        if isinstance(self.model, ReferenceGAN):
            for index in range(steps):
                begin = time.perf_counter()
                self.model.train_step(self.x[index * self.batch_size:
                                             (index + 1) * self.batch_size])
                self.step_ends.append(time.perf_counter())
                times.append(self.step_ends[-1] - begin)
            return sum(times)
        windows = self

        class StepTimer(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                self.begin = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                windows.step_ends.append(time.perf_counter())
                times.append(windows.step_ends[-1] - self.begin)

        self.model.fit(_first(self.x, count), None if self.y is None else self.y[:count],
                       batch_size=self.batch_size, epochs=1, shuffle=False, verbose=0,
                       callbacks=[StepTimer()])
        return sum(times)


PREDICT_WINDOWS = 5


def measure(model_name, variant, sizes, args):
    """One model alone in this process: time to the first finished step (through the warm-up
    steps), inference throughput, and (in run_in_subprocess) the process's peak memory."""
    import keras

    batch_size = sizes["batch_size"]
    model, training_data, inference_inputs = build(model_name, variant, sizes)
    windows = TrainingWindows(model, training_data, batch_size, args.warmup)
    started = time.perf_counter()
    windows.run(args.warmup)
    first_step = windows.step_ends[0] - started

    # A fixed count, not one that grows with --repeats: predict keeps every output, and the
    # translation models' (16 x 8,000 logits per sentence) would dominate the peak memory.
    inputs = inference_inputs(PREDICT_WINDOWS * args.steps * batch_size)
    model.predict(_first(inputs, batch_size), batch_size=batch_size, verbose=0)  # warm-up
    begin = time.perf_counter()
    model.predict(inputs, batch_size=batch_size, verbose=0)
    inference = len(_first(inputs)) / (time.perf_counter() - begin)

    result = {"model": model_name, "variant": variant, "backend": keras.backend.backend(),
              "sizes": sizes, "first_step_s": round(first_step, 2),
              "inference_per_s": round(inference, 1)}
    if variant == "reference" and model_name.endswith("-cnn"):
        result["training_flops_per_sample"] = training_flops(model)
    print(json.dumps(result))


def measure_training_pair(model_name, sizes, args):
    """zoo and its reference trained in this one process, window by window in turn: after
    --warmup steps of each, --repeats rounds of one --steps window of each, the order swapped
    every round (zoo first, then the reference first). Each variant's throughput is the median
    of its windows; the ratio zoo/reference is the median of the rounds' ratios. Slow drifts
    of the machine (other load, clock, memory) touch both sides of a round alike, which
    separate processes minutes apart do not."""
    import keras

    batch_size = sizes["batch_size"]
    windows = {}
    for variant in ("zoo", "reference"):
        model, training_data, _ = build(model_name, variant, sizes)
        windows[variant] = TrainingWindows(model, training_data, batch_size,
                                           max(args.steps, args.warmup))
        windows[variant].run(args.warmup)
    seconds = {"zoo": [], "reference": []}
    for round_ in range(args.repeats):
        for variant in ("zoo", "reference") if round_ % 2 == 0 else ("reference", "zoo"):
            seconds[variant].append(windows[variant].run(args.steps))
    ratios = [reference / zoo_ for zoo_, reference in zip(seconds["zoo"], seconds["reference"])]
    result = {"model": model_name, "variant": "pair", "backend": keras.backend.backend(),
              "sizes": sizes, "ratios": [round(r, 4) for r in ratios],
              "zoo_over_reference": round(statistics.median(ratios), 3)}
    for variant, times in seconds.items():
        result[f"{variant}_train_per_s"] = round(
            args.steps * batch_size / statistics.median(times), 1)
        result[f"{variant}_train_windows_s"] = [round(t, 3) for t in times]
    if model_name.endswith("-cnn"):
        result["augmented_per_s"] = augmented_images_per_s(sizes, args)
    print(json.dumps(result))


def augmented_images_per_s(sizes, args):
    """The CNN recipes' augmentation alone (`zoo.augmentation()`, which runs in the model's
    training step): images/s through it inside `fit`, compiled as the backend compiles a
    step, with only a global average and one Dense unit behind it to train. Median of
    --repeats windows of --steps steps (at most 7), after --warmup steps."""
    import keras

    import zoo

    size, batch_size = sizes["image_size"], sizes["batch_size"]
    model = keras.Sequential([
        keras.Input((size, size, 3)), keras.layers.Rescaling(1 / 255), zoo.augmentation(seed=0),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    training_data, _ = classifier_data(size, np.random.default_rng(0))
    windows = TrainingWindows(model, training_data, batch_size, max(args.steps, args.warmup))
    windows.run(args.warmup)
    times = [windows.run(args.steps) for _ in range(min(args.repeats, 7))]
    return round(args.steps * batch_size / statistics.median(times), 1)


def median_interval(values, confidence=0.95):
    """A distribution-free confidence interval for the median of `values`: (the k-th smallest,
    the k-th largest), with k as large as it can be while the chance that the true median lies
    outside stays at most 1 - confidence. The median lies below the k-th smallest value only
    if at most k - 1 values fall below it, a Binomial(n, 1/2) event; likewise above. None for
    fewer than 6 values (then even the full range covers the median less than 95% of the time).
    """
    n, ordered = len(values), sorted(values)
    k = 0
    while 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n <= 1 - confidence:
        k += 1
    return (ordered[k - 1], ordered[n - k]) if k else None


def pair_verdict(ratios):
    """What a row's rounds say about zoo against its reference: the rounds zoo won, the 95%
    interval of the median ratio, and "faster", "slower" (the interval wholly above or below
    1.0) or "same" (the rounds cannot tell the two apart)."""
    interval = median_interval(ratios)
    verdict = None if interval is None else (
        "faster" if interval[0] > 1 else "slower" if interval[1] < 1 else "same")
    return {"rounds_zoo_faster": sum(ratio > 1 for ratio in ratios),
            "ratio_interval_95": interval, "verdict": verdict}


def _first(inputs, count=None):
    """The first `count` samples of an array or of each array in a tuple (all, if None)."""
    if isinstance(inputs, tuple):
        return inputs[0] if count is None else tuple(part[:count] for part in inputs)
    return inputs if count is None else inputs[:count]


def training_flops(model):
    """FLOPs to train on one sample: 3 x the forward pass (the backward pass costs about
    twice the forward: gradients for the inputs and for the weights), counting a
    multiply-add as 2 FLOPs in every Conv2D (2 k^2 C_in per output value) and Dense layer
    (2 n_in per output); pooling, normalisation and activations are left out (under 1%)."""
    from keras import layers

    forward = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            kernel = int(np.prod(layer.kernel_size))
            outputs = int(np.prod(layer.output.shape[1:]))
            forward += 2 * kernel * layer.input.shape[-1] * outputs
        elif isinstance(layer, layers.Dense):
            forward += 2 * layer.input.shape[-1] * layer.units
    return 3 * forward


# The machine and the input pipelines, in this process --------------------------------------

def matmul_gflops(size=2048, repeats=10):
    """The machine's float32 speed now: the median GFLOP/s of NumPy matmuls on all cores.
    A run takes the best of these measurements, one before and one after every subprocess,
    as its limit: on a shared host the same matmul ran anywhere between 139 and 310 GFLOP/s
    within one 49-minute run. -> (GFLOP/s, whether the last product is right)."""
    rng = np.random.default_rng(0)
    a, b = (rng.random((size, size), dtype=np.float32) for _ in range(2))
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        product = a @ b
        times.append(time.perf_counter() - begin)
    return 2 * size**3 / statistics.median(times) / 1e9, product_is_right(a, b, product)


def product_is_right(a, b, product, rows=64):
    """Whether the first `rows` rows of the float32 `product` of a and b are those of the
    float64 product (to float32's rounding over the sum)."""
    exact = a[:rows].astype(np.float64) @ b.astype(np.float64)
    return bool(np.allclose(product[:rows], exact, rtol=1e-4, atol=1e-3))


# Some machines set these so that OpenBLAS runs an older CPU's kernels (older builds computed
# wrong results on some newer CPUs). A limit measured under them is that kernel's, not the
# machine's: on a 2-core AMD EPYC with AVX-512, OPENBLAS_CORETYPE=Haswell (AVX2) gave
# 222 GFLOP/s, the kernel OpenBLAS picks for that CPU (SkylakeX) 414. The models' own
# libraries (oneDNN, Eigen, XLA) read neither variable and use AVX-512 there.
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def matmul_limit_sample(size):
    """One sample of the machine's limit -> {"gflops", "kernel", "overrides", "forced"}:
    `matmul_gflops` in a fresh process without BLAS_OVERRIDES, so with the kernel OpenBLAS
    picks for this CPU, its product checked against float64. "overrides" are those this
    environment sets; only if the CPU's own kernel's product is wrong (or its process fails)
    is the sample measured here under them ("forced")."""
    overrides = {key: os.environ[key] for key in BLAS_OVERRIDES if key in os.environ}
    env = {key: value for key, value in os.environ.items() if key not in overrides}
    done = subprocess.run([sys.executable, __file__, "--matmul", str(size)], env=env,
                          capture_output=True, text=True, cwd=ROOT)
    sample = json.loads(done.stdout) if done.returncode == 0 else {"right": False}
    forced = not sample.pop("right")
    if forced:
        gflops, _ = matmul_gflops(size)
        sample = {"gflops": gflops, "kernel": blas_kernel()}
    return sample | {"gflops": round(sample["gflops"], 1), "overrides": overrides,
                     "forced": forced}


def blas_kernel():
    """The kernel NumPy's BLAS runs in this process (for example "SkylakeX"), or None where
    threadpoolctl (in the test extra) is missing."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return next((pool.get("architecture") for pool in threadpool_info()
                 if pool.get("user_api") == "blas"), None)


# Which input pipeline feeds which model: the recipe's data at the model's full size.
PIPELINES = {"small-cnn": ("dogs_vs_cats/train", 150), "compact-cnn": ("dogs_vs_cats/train", 128),
             "dcgan": ("oxford17", 64), "dcgan-augment-ema": ("oxford17", 64),
             "vae": ("oxford17", 64)}


def pipeline_images_per_s(data_root, models, batches_timed):
    """Each image recipe's input pipeline alone, on the real images under `data_root`:
    decoded once into the cache (as the recipes do; `load_s` is that first load, or the
    cache read), then the uint8 batches `ImageBatches` gives a training epoch (the models
    scale and augment inside, on the backend). For the flowers the [0, 1] scaling the
    generative recipes do is included."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from zoo.datasets import ImageBatches, cats_vs_dogs, flowers

    results = {}
    for folder, size in dict.fromkeys(PIPELINES[m] for m in models if m in PIPELINES):
        source = data_root / folder
        if not source.exists():
            continue
        begin = time.perf_counter()
        loader = cats_vs_dogs if folder.startswith("dogs") else flowers
        data = loader.load(source, size, progress=lambda *_: None)
        load_seconds = time.perf_counter() - begin
        batches = ImageBatches(data.images, data.labels, 32, shuffle=True)
        count = min(len(batches), batches_timed)
        begin = time.perf_counter()
        for index in range(count):
            images, _ = batches[index]
            if loader is flowers:
                images = images.astype("float32") / 255.0
        results[f"{folder} {size}px"] = {
            "images_per_s": round(count * 32 / (time.perf_counter() - begin)),
            "images": len(data.images), "load_s": round(load_seconds, 1)}
    return results


# The run: subprocesses, the report ---------------------------------------------------------

def run_in_subprocess(measurements, backend, args):
    """(model, variant) measurements in one fresh subprocess -> {(model, variant): result},
    each with the subprocess's peak memory, or with the error that stopped it."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, __file__,
               "--inside", ",".join(f"{model}:{variant}" for model, variant in measurements),
               *(["--quick"] if args.quick else []), "--warmup", str(args.warmup),
               "--repeats", str(args.repeats), "--steps", str(args.steps),
               "--allocator", args.allocator,
               *(["--batch-size", str(args.batch_size)] if args.batch_size else [])]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0), err.seek(0)
        results = [json.loads(line) for line in out.read().splitlines() if line.startswith("{")]
        error = err.read()[-1500:] if os.waitstatus_to_exitcode(status) else None
    found = {(r["model"], r["variant"]): r | {"peak_memory_mib": round(usage.ru_maxrss / 1024)}
             for r in results}  # ru_maxrss: KiB on Linux
    return {(model, variant): found.get((model, variant)) or {
                "model": model, "variant": variant, "backend": backend,
                "error": error or "no result"}
            for model, variant in measurements}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated, of: " + ", ".join(MODELS))
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--repeats", type=int, default=24,
                        help="rounds of timed training windows, one of zoo and one of the "
                             "reference each (median)")
    parser.add_argument("--steps", type=int, default=5, help="training steps per window")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--batch-size", type=int,
                        help="every model's batch size (default: each model's own, as its "
                             "recipe trains)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, 1 step per window, one subprocess per backend: "
                             "checks the tool in minutes; its numbers compare nothing")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for BENCHMARKS.md and BENCHMARKS.json (default: the "
                             "project's, or with --quick a new temporary folder, so that a "
                             "check never overwrites the committed report)")
    parser.add_argument("--data", type=Path, default=SHARED_DATA,
                        help="folder with dogs_vs_cats/train and oxford17, for the input "
                             "pipelines (default: ../shared/data)")
    parser.add_argument("--rewrite", type=Path, metavar="JSON",
                        help="measure nothing: write BENCHMARKS.md (next to JSON) again from "
                             "an earlier run's BENCHMARKS.json, after a change to the report")
    parser.add_argument("--allocator", choices=tuple(ALLOCATORS), default="system",
                        help="malloc settings of every measuring process: 'system' (default), "
                             "or 'keep', zoo.keep_freed_memory() as the recipes run")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    parser.add_argument("--matmul", type=int, metavar="SIZE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.matmul:  # one sample of the limit, in matmul_limit_sample's subprocess
        gflops, right = matmul_gflops(args.matmul)
        print(json.dumps({"gflops": gflops, "right": right, "kernel": blas_kernel()}))
        return None
    if args.rewrite:
        return rewrite(args.rewrite)
    if args.quick:
        args.steps, args.warmup = 1, 1
    args.out = report_folder(args.out, args.quick)
    if args.inside:
        if args.allocator == "keep":
            from zoo.memory import keep_freed_memory

            keep_freed_memory()
        for measurement in args.inside.split(","):
            model_name, variant = measurement.split(":")
            sizes = model_sizes(model_name, vars(args))
            if variant == "pair":
                measure_training_pair(model_name, sizes, args)
            else:
                measure(model_name, variant, sizes, args)
        return None

    models, backends = args.models.split(","), args.backends.split(",")
    unknown = [m for m in models if m not in MODELS] + [b for b in backends if b not in BACKENDS]
    if unknown:
        parser.error(f"unknown model or backend: {', '.join(unknown)}")
    if importlib.util.find_spec("zoo") is None:  # each subprocess imports it: say so once
        sys.exit("tools/bench.py: cannot import zoo; install the project first: pip install -e .")
    report = {"date": datetime.date.today().isoformat(), "machine": machine(),
              "command": "python tools/bench.py " + " ".join(argv or sys.argv[1:]),
              "settings": {"repeats": args.repeats, "steps": args.steps, "warmup": args.warmup,
                           "quick": args.quick, "allocator": args.allocator,
                           "batch_size": args.batch_size},
              "matmul_samples": []}

    def sample_the_limit():  # the machine's speed drifts: measured again between subprocesses
        sample = matmul_limit_sample(1024 if args.quick else 2048)
        report["matmul_samples"].append(sample["gflops"])
        report["matmul_gflops"] = max(report["matmul_samples"])
        report["matmul_blas"] = {key: sample[key] for key in ("kernel", "overrides", "forced")}

    sample_the_limit()
    print(f"matmul limit: {report['matmul_gflops']} GFLOP/s (float32, NumPy, all cores)",
          flush=True)
    # One subprocess per measurement; in quick mode, one per backend (the peak memory is then
    # that of the whole process).
    results = {}
    for backend in backends:
        measurements = [(model, variant) for model in models
                        for variant in ("zoo", "reference", "pair")]
        for group in ([measurements] if args.quick else [[m] for m in measurements]):
            for (model_name, variant), result in run_in_subprocess(group, backend, args).items():
                results[model_name, variant, backend] = result
                print(f"{model_name:12} {backend:10} {variant:9} " + progress_line(result),
                      flush=True)
            sample_the_limit()
    print(f"matmul limit: {report['matmul_gflops']} GFLOP/s, the best of "
          f"{len(report['matmul_samples'])} ({min(report['matmul_samples'])}-"
          f"{report['matmul_gflops']})", flush=True)
    rows = [summarize(model_name, backend, {variant: results[model_name, variant, backend]
                                            for variant in ("zoo", "reference", "pair")},
                      report["matmul_gflops"])
            for model_name in models for backend in backends]
    report["rows"] = rows
    report["pipelines"] = pipeline_images_per_s(args.data, models, 20 if args.quick else 300)
    for row in rows:
        folder, size = PIPELINES.get(row["model"], (None, None))
        pipeline = report["pipelines"].get(f"{folder} {size}px")
        if pipeline and row.get("zoo_train_per_s"):
            delivered = pipeline["images_per_s"]
            if row.get("augmented_per_s"):  # the two stages one after the other
                delivered = 1 / (1 / delivered + 1 / row["augmented_per_s"])
                row["pipeline_per_s"] = round(delivered, 1)
            row["pipeline_over_training"] = round(delivered / row["zoo_train_per_s"], 1)
    write_report(report, args.out)


def report_folder(out, quick):
    """Where the report goes: `out` if given; else the project's committed report, except
    for --quick, whose tiny numbers go to a new temporary folder."""
    if out is not None:
        return out
    return Path(tempfile.mkdtemp(prefix="zoo-bench-quick-")) if quick else ROOT


def write_report(report, folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "BENCHMARKS.json").write_text(json.dumps(report, indent=1) + "\n")
    (folder / "BENCHMARKS.md").write_text(markdown(report))
    print(f"wrote {folder / 'BENCHMARKS.md'} and BENCHMARKS.json")


def rewrite(json_path):
    """BENCHMARKS.md again from a run's BENCHMARKS.json (the rows' verdicts recomputed from
    their rounds, so a report from before they existed gets them too)."""
    try:
        report = json.loads(json_path.read_text())
        rows = report["rows"]
    except (OSError, ValueError, KeyError) as error:
        sys.exit(f"tools/bench.py --rewrite: {json_path}: not a BENCHMARKS.json ({error})")
    for row in rows:
        if "ratios" in row:
            row |= pair_verdict(row["ratios"])
    write_report(report, json_path.parent)


def progress_line(result):
    if "error" in result:
        return f"error: {result['error'].strip().splitlines()[-1:]}"
    if result["variant"] == "pair":
        return (f"train zoo {result['zoo_train_per_s']:.1f}/s, reference "
                f"{result['reference_train_per_s']:.1f}/s: zoo/reference "
                f"{result['zoo_over_reference']:.3f} (rounds {min(result['ratios']):.3f}-"
                f"{max(result['ratios']):.3f})")
    return (f"first step {result['first_step_s']:6.1f} s  predict "
            f"{result['inference_per_s']:8.1f}/s  {result['peak_memory_mib']} MiB")


def summarize(model_name, backend, results, limit_gflops):
    """The three subprocesses' results for one model on one backend -> one report row."""
    row = {"model": model_name, "backend": backend, "unit": MODELS[model_name]["unit"]}
    for variant, result in results.items():
        if "error" in result:
            row[f"{variant}_error"] = result["error"]
        elif variant == "pair":
            for key in ("zoo_train_per_s", "reference_train_per_s", "zoo_over_reference",
                        "ratios"):
                row[key] = result[key]
            if "augmented_per_s" in result:  # the CNNs only
                row["augmented_per_s"] = result["augmented_per_s"]
            row |= pair_verdict(result["ratios"])
        else:
            for key in ("first_step_s", "inference_per_s", "peak_memory_mib"):
                row[f"{variant}_{key}"] = result[key]
    reference = results["reference"]
    if "training_flops_per_sample" in reference:
        flops = row["training_gflops_per_sample"] = round(
            reference["training_flops_per_sample"] / 1e9, 3)
        for variant in ("zoo", "reference"):
            if f"{variant}_train_per_s" in row:
                row[f"{variant}_share_of_limit"] = round(
                    row[f"{variant}_train_per_s"] * flops / limit_gflops, 3)
    return row


def machine():
    import importlib.metadata as metadata

    versions = {}
    for package in ("keras", "numpy", "tensorflow", "torch", "jax", "keras-hub"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "versions": versions}


ALLOCATORS = {"system": "the C library's malloc settings, as a plain script gets them",
              "keep": "zoo.keep_freed_memory() in every measuring process, as zoo's recipes "
                      "run"}


def blas_words(blas):
    """How the limit's BLAS ran, for the report ("" for a run from before it was recorded)."""
    if not blas:
        return ""
    kernel = f"OpenBLAS kernel {blas['kernel']}" if blas["kernel"] else "OpenBLAS"
    overrides = ", ".join(f"{key}={value}" for key, value in blas["overrides"].items())
    if blas["forced"]:
        return (f", {kernel} as this environment forces it ({overrides}): the kernel picked "
                f"for this CPU computed a wrong product" if overrides else f", {kernel}")
    return f", {kernel}" + (f", the one picked for this CPU, without this environment's "
                            f"{overrides}" if overrides else "")


def markdown(report):
    machine_, settings, rows = report["machine"], report["settings"], report["rows"]
    samples = report.get("matmul_samples", [report["matmul_gflops"]])
    versions = ", ".join(f"{name} {version}" for name, version in machine_["versions"].items())
    run_notes = " Quick mode: tiny sizes, for checking the tool, not for comparison." \
        if settings["quick"] else ""
    if settings.get("batch_size"):
        run_notes += (f" Every model at batch size {settings['batch_size']} (--batch-size), "
                      f"not its recipe's.")
    lines = [
        "# Benchmarks",
        "",
        f"Measured {report['date']} by `{report['command'].strip()}` on {machine_['cpu']}, "
        f"{machine_['cores']} cores, Python {machine_['python']}; {versions}. Written by "
        f"tools/bench.py (do not edit by hand); how it measures: its docstring. Training: "
        f"zoo and reference in one process, {settings['repeats']} rounds of one window of "
        f"{settings['steps']} steps each, taking turns which goes first, after "
        f"{settings['warmup']} warm-up steps; throughput is the median window, zoo / "
        f"reference the median of the rounds' ratios, with a 95% confidence interval for that "
        f"median (from the rounds' order statistics; none for fewer than 6 rounds). "
        f"Allocator: {ALLOCATORS[settings.get('allocator', 'system')]}.{run_notes}",
        "",
        f"Machine limit: **{report['matmul_gflops']} GFLOP/s** (float32 matmul, NumPy, all "
        f"cores{blas_words(report.get('matmul_blas'))}"
        + (f"; the best of {len(samples)} measurements between the subprocesses, "
           f"which ranged {min(samples)}-{max(samples)}, so the shares below are "
           f"against the fastest the machine was seen to be" if len(samples) > 1 else "")
        + ").",
        "",
        "## Training and inference, zoo against plain Keras",
        "",
        "| model | backend | unit | zoo train /s | reference train /s | zoo / reference "
        "| 95% interval | rounds zoo faster | zoo first step s | reference first step s "
        "| zoo predict /s | reference predict /s | zoo peak MiB | reference peak MiB "
        "| share of limit (zoo / reference) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: |",
    ]
    for row in rows:
        def cell(key, row=row):
            return "error" if row.get(key) is None else f"{row[key]:g}"

        share = (f"{row['zoo_share_of_limit']:.0%} / {row['reference_share_of_limit']:.0%}"
                 if "zoo_share_of_limit" in row and "reference_share_of_limit" in row else "")
        interval = row.get("ratio_interval_95")
        rounds = ("" if interval is None else f"{interval[0]:.3f}-{interval[1]:.3f}",
                  f"{row['rounds_zoo_faster']} of {len(row['ratios'])}") if "ratios" in row \
            else ("error", "error")
        lines.append(" | ".join([
            f"| {row['model']}", row["backend"], row["unit"],
            cell("zoo_train_per_s"), cell("reference_train_per_s"), cell("zoo_over_reference"),
            *rounds,
            *(cell(f"{variant}_{key}") for key in ("first_step_s", "inference_per_s",
                                                   "peak_memory_mib")
              for variant in ("zoo", "reference")),
            f"{share} |"]))
    verdicts = {verdict: [f"{row['model']} on {row['backend']}" for row in rows
                          if row.get("verdict") == verdict] for verdict in ("slower", "faster")}
    below = [f"{row['model']} on {row['backend']} ({row['zoo_over_reference']:.3f})"
             for row in rows if row.get("zoo_over_reference", 1) < 1]
    lines += ["", "zoo measurably slower than its reference (the interval wholly below 1.0): "
              + (", ".join(verdicts["slower"]) or "none") + ". Measurably faster: "
              + (", ".join(verdicts["faster"]) or "none") + ". Median ratio below 1.0: "
              + (", ".join(below) or "none") + "."]
    errors = [(row, key) for row in rows for key in row if key.endswith("_error")]
    if errors:
        lines += ["", "Errors (last line of each):", ""]
        lines += [f"- {row['model']} {row['backend']} {key.removesuffix('_error')}: "
                  f"`{(row[key].strip().splitlines() or ['?'])[-1]}`" for row, key in errors]
    sizes = {name: model_sizes(name, settings)
             for name in dict.fromkeys(row["model"] for row in rows)}
    lines += ["", "Sizes: " + "; ".join(
        f"{name} " + ", ".join(f"{key} {value}" for key, value in sizes[name].items())
        for name in sizes) + "."]
    flops = {row["model"]: row["training_gflops_per_sample"] for row in rows
             if "training_gflops_per_sample" in row}
    if flops:
        lines.append("Training FLOPs per sample, counted from the layers (3 x the forward "
                     "pass's 2 FLOPs per multiply-add in Conv2D and Dense): "
                     + ", ".join(f"{name} {value} GFLOP" for name, value in flops.items()) + ".")
    lines += ["", "## Input pipelines alone (real images)", ""]
    if report["pipelines"]:
        lines += ["| pipeline | images | first load (decode, or cache read) s | images/s |",
                  "| --- | ---: | ---: | ---: |"]
        lines += [f"| {name} | {p['images']} | {p['load_s']} | {p['images_per_s']} |"
                  for name, p in report["pipelines"].items()]
        augmented = [row for row in rows if row.get("augmented_per_s")]
        if augmented:
            lines += ["", "The CNN recipes' augmentation (`zoo.augmentation()`: rotation, "
                      "shifts, flip, zoom, one resampling), on synthetic images of the model's "
                      "size inside `fit`, and the pipeline's two stages one after the other "
                      "(1 / (1 / decoded + 1 / augmented)):", "",
                      "| model | backend | augmented images/s | decoded, then augmented, "
                      "images/s | over the zoo model's training |",
                      "| --- | --- | ---: | ---: | ---: |"]
            lines += [f"| {row['model']} | {row['backend']} | {row['augmented_per_s']:g} | "
                      f"{row.get('pipeline_per_s', '')} | "
                      f"{row.get('pipeline_over_training', '')}x |" for row in augmented]
        lines += ["", "Pipeline over the zoo model's training throughput: " + ", ".join(
            f"{row['model']} on {row['backend']} {row['pipeline_over_training']}x"
            for row in rows if "pipeline_over_training" in row) + "."]
    else:
        lines.append("Not measured: the images were not found (--data).")
    lines += ["", "## Re-run", "",
              "    python tools/bench.py          # every model, every backend, 24 rounds:"
              " 60-100 min on 2 idle cores (--repeats 12: 32-50)",
              "    python tools/bench.py --quick  # the tool's own check, a few minutes", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
