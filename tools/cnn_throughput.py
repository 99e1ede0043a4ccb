"""Training and input-pipeline throughput of the Dogs vs Cats models, per backend.

    python tools/cnn_throughput.py                              # every backend, seed CNN 150px
    python tools/cnn_throughput.py --model compact --image-size 128 --backends jax

For each backend, in a subprocess of its own: the zoo model and a plain `keras.Sequential`
of the same layers (written as a user would, default `compile`) are trained on the same
random uint8 batches with `fit`; after warm-up steps, the images/s of `--windows` windows
of `--steps` steps each are measured and their median reported. The input pipeline
(`zoo.datasets.ImageBatches` over a cached uint8 array) is timed alone as well.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "torch", "jax")


def plain_sequential(model_name, image_size):
    """The reference: the same architecture as a user would write it with keras.Sequential."""
    import keras
    from keras import layers

    if model_name == "small":
        stack = [keras.Input((image_size, image_size, 3)), layers.Rescaling(1 / 255)]
        for count in (32, 64, 128):
            stack += [layers.Conv2D(count, 3, activation="relu"), layers.MaxPooling2D(2)]
        stack += [layers.Flatten(), layers.Dense(512, activation="relu"),
                  layers.Dense(1, activation="sigmoid")]
    else:
        stack = [keras.Input((image_size, image_size, 3)), layers.Rescaling(1 / 255)]
        for index, count in enumerate((16, 32, 64, 128, 256)):
            stack += [layers.Conv2D(count, 3, padding="same", use_bias=False),
                      layers.BatchNormalization(momentum=0.9), layers.ReLU()]
            if index < 4:
                stack.append(layers.MaxPooling2D(2))
        stack += [layers.GlobalAveragePooling2D(), layers.Dropout(0.3),
                  layers.Dense(1, activation="sigmoid")]
    return keras.Sequential(stack)


class StepTimer:
    """Wall time of each training batch, read from fit's batch callbacks."""

    def __init__(self):
        import keras

        timer = self

        class Callback(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                timer.begin = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                timer.times.append(time.perf_counter() - timer.begin)

        self.times, self.callback = [], Callback()


def measure(args):
    import keras
    import numpy as np

    import zoo
    from zoo.datasets import ImageBatches

    rng = np.random.default_rng(0)
    total = (args.warmup + args.windows * args.steps) * args.batch_size
    images = rng.integers(0, 256, (total, args.image_size, args.image_size, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, total)
    batches = ImageBatches(images, labels, args.batch_size, shuffle=True)

    start = time.perf_counter()
    for index in range(len(batches)):
        batches[index]
    pipeline = total / (time.perf_counter() - start)

    results = {"backend": keras.backend.backend(), "pipeline_images_per_s": round(pipeline)}
    architecture = {"small": zoo.SmallCNN, "compact": zoo.CompactCNN}[args.model]
    for name, model in (("zoo", architecture(image_size=args.image_size)),
                        ("plain", plain_sequential(args.model, args.image_size))):
        model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
        timer = StepTimer()
        started = time.perf_counter()
        model.fit(batches, epochs=1, verbose=0, callbacks=[timer.callback])
        first_step = timer.times[0]
        windows = [sum(timer.times[args.warmup + w * args.steps:
                                   args.warmup + (w + 1) * args.steps])
                   for w in range(args.windows)]
        results[name] = {
            "train_images_per_s": round(args.steps * args.batch_size / statistics.median(windows),
                                        1),
            "first_step_s": round(first_step, 2),
            "fit_s": round(time.perf_counter() - started, 1),
        }
    results["zoo_over_plain"] = round(results["zoo"]["train_images_per_s"]
                                      / results["plain"]["train_images_per_s"], 3)
    print(json.dumps(results))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["small", "compact"], default="small")
    parser.add_argument("--image-size", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed window")
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        return measure(args)
    for backend in args.backends.split(","):
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        result = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--inside"],
                                env=env, capture_output=True, text=True)
        if result.returncode:
            print(f"{backend}: failed\n{result.stderr[-2000:]}", file=sys.stderr)
            continue
        print(result.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
