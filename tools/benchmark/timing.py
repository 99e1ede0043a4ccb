"""The measurements, each inside its own subprocess: training windows taken in turns, the
first step, inference, the augmentation alone, and the training FLOPs of the conv models."""

import json
import statistics
import time

import numpy as np

from benchmark.models import build
from benchmark.references import ReferenceGAN, classifier_data


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
                self.model.train_step(
                    self.x[index * self.batch_size : (index + 1) * self.batch_size]
                )
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

        self.model.fit(
            _first(self.x, count),
            None if self.y is None else self.y[:count],
            batch_size=self.batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
            callbacks=[StepTimer()],
        )
        return sum(times)


PREDICT_WINDOWS = 5

# With --quick (a check of the tool, not a measurement) every measurement of a backend runs
# in one process, and the pair takes the models `measure` built and warmed there instead of
# building and compiling each a second time: {(model name, variant): TrainingWindows}.
_warm_in_quick_mode = {}


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
    if args.quick and args.warmup >= args.steps:  # its batches also fill the pair's windows
        _warm_in_quick_mode[model_name, variant] = windows

    # A fixed count, not one that grows with --repeats: predict keeps every output, and the
    # translation models' (16 x 8,000 logits per sentence) would dominate the peak memory.
    inputs = inference_inputs(PREDICT_WINDOWS * args.steps * batch_size)
    model.predict(_first(inputs, batch_size), batch_size=batch_size, verbose=0)  # warm-up
    begin = time.perf_counter()
    model.predict(inputs, batch_size=batch_size, verbose=0)
    inference = len(_first(inputs)) / (time.perf_counter() - begin)

    result = {
        "model": model_name,
        "variant": variant,
        "backend": keras.backend.backend(),
        "sizes": sizes,
        "first_step_s": round(first_step, 2),
        "inference_per_s": round(inference, 1),
    }
    if variant == "reference" and model_name.endswith("-cnn"):
        result["training_flops_per_sample"] = training_flops(model)
    if variant == "reference" and model_name == "dcgan-augment-ema":
        result["training_flops_per_sample"] = gan_training_flops(model)
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
        if (model_name, variant) in _warm_in_quick_mode:
            windows[variant] = _warm_in_quick_mode.pop((model_name, variant))
            continue
        model, training_data, _ = build(model_name, variant, sizes)
        windows[variant] = TrainingWindows(
            model, training_data, batch_size, max(args.steps, args.warmup)
        )
        windows[variant].run(args.warmup)
    seconds = {"zoo": [], "reference": []}
    for round_ in range(args.repeats):
        for variant in ("zoo", "reference") if round_ % 2 == 0 else ("reference", "zoo"):
            seconds[variant].append(windows[variant].run(args.steps))
    ratios = [reference / zoo_ for zoo_, reference in zip(seconds["zoo"], seconds["reference"])]
    result = {
        "model": model_name,
        "variant": "pair",
        "backend": keras.backend.backend(),
        "sizes": sizes,
        "ratios": [round(r, 4) for r in ratios],
        "zoo_over_reference": round(statistics.median(ratios), 3),
    }
    for variant, times in seconds.items():
        result[f"{variant}_train_per_s"] = round(
            args.steps * batch_size / statistics.median(times), 1
        )
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
    model = keras.Sequential(
        [
            keras.Input((size, size, 3)),
            keras.layers.Rescaling(1 / 255),
            zoo.augmentation(seed=0),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile("adam", "binary_crossentropy")
    training_data, _ = classifier_data(size, np.random.default_rng(0))
    windows = TrainingWindows(model, training_data, batch_size, max(args.steps, args.warmup))
    windows.run(args.warmup)
    times = [windows.run(args.steps) for _ in range(min(args.repeats, 7))]
    return round(args.steps * batch_size / statistics.median(times), 1)


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


def gan_training_flops(model):
    """FLOPs of one zoo.DCGAN training step per image, G and D the forward passes of the
    generator and the discriminator (`_forward_flops`): the discriminator's step runs G
    forward and D forward and backward on a real and a generated image (G + 2 x 3D); the
    generator's step runs G forward and backward through D (3G + 3D). 4G + 9D in all;
    DiffAugment, batch normalisation and the weight average are left out (under 1%)."""
    return 4 * _forward_flops(model.generator) + 9 * _forward_flops(model.discriminator)


def _forward_flops(network):
    """A network's forward FLOPs per sample, 2 per multiply-add, in the multiplies its layers
    do: Dense, Conv2D, Conv2DTranspose (kernel taps x input pixels), and zoo's ResizeConv2D
    (nearest: 16 taps per input pixel, as the transposed convolution it runs; bilinear: the
    3x3 convolution of the upsampled map)."""
    from keras import layers

    from zoo.models.layers import ResizeConv2D

    total = 0
    for layer in network.layers:
        if not hasattr(layer, "kernel"):
            continue
        weights = int(np.prod(layer.kernel.shape))  # taps x C_in x C_out
        if isinstance(layer, layers.Dense):
            total += 2 * weights
        elif isinstance(layer, ResizeConv2D) and layer.interpolation == "nearest":
            pixels_in = int(np.prod(layer.input.shape[1:])) // layer.kernel.shape[2]
            total += 2 * weights * pixels_in * 16 // 9
        elif isinstance(layer, layers.Conv2D):
            total += 2 * weights * int(np.prod(layer.output.shape[1:])) // layer.filters
        elif isinstance(layer, layers.Conv2DTranspose):
            total += 2 * weights * int(np.prod(layer.input.shape[1:])) // layer.kernel.shape[3]
    return total
