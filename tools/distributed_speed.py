"""Throughput of one process against two (tools/launch_local.py) for the CompactCNN and the
DCGAN, on the backend `KERAS_BACKEND` names, and the time from launch to the first finished
training step with each engine.

    KERAS_BACKEND=jax python tools/distributed_speed.py --out /tmp/speed

Each run trains through `zoo.training` (so `--distribute` does what it does in a recipe) on
random images (64 px, global batch 32) for --epochs epochs; images per second come from the
last epoch's wall time (the first one compiles). Prints a Markdown table. On a machine with
fewer cores than processes times threads, two processes show that the engines work and agree,
not a speed-up.

Run by the launcher, the same file is the worker (`--worker`).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

TOOLS = Path(__file__).parent


def worker():
    import numpy as np

    import zoo
    from zoo import training
    from zoo.datasets import ImageBatches

    parser = training.make_parser("distributed-speed", __doc__, epochs=2, batch_size=32)
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--model", choices=("cnn", "dcgan"), required=True)
    parser.add_argument("--images", type=int, default=512)
    run = training.start(parser)
    import keras

    config = run.config
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (config.images, 64, 64, 3), dtype=np.uint8)
    if config.model == "cnn":
        batches = ImageBatches(
            images,
            rng.integers(0, 2, config.images),
            config.batch_size,
            shuffle=True,
            seed=config.seed,
        )
        model = zoo.CompactCNN(image_size=64, augment=False, seed=config.seed)
        model.compile("adam", "binary_crossentropy")
    else:
        batches = ImageBatches(
            images, None, config.batch_size, shuffle=True, seed=config.seed, value_range=(0, 1)
        )
        model = zoo.DCGAN(image_size=64, seed=config.seed)
        model.compile()
    launched = float(os.environ.get("LAUNCHED_AT", time.time()))
    first_step = {}

    class FirstStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            first_step.setdefault("seconds", time.time() - launched)

    run.fit(model, batches, epochs=config.epochs, callbacks=[FirstStep()], save=False)
    seconds = run.history()["epoch_seconds"][-1]
    run.finish(
        final={
            "images_per_second": config.images / seconds,
            "first_step_seconds": first_step["seconds"],
        }
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the runs")
    parser.add_argument("--models", nargs="+", default=["cnn", "dcgan"])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(TOOLS))
    import launch_local

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    rows = []
    for model in args.models:
        measured = {}
        for processes in (1, 2):
            out = args.out / f"{backend}-{model}-{processes}"
            command = [
                __file__,
                "--worker",
                "--model",
                model,
                "--epochs",
                args.epochs,
                "--out",
                out,
                "--distribute",
            ]
            env = {**os.environ, "LAUNCHED_AT": str(time.time())}
            if processes == 1:
                codes = [
                    os.spawnve(os.P_WAIT, sys.executable, [sys.executable, *map(str, command)], env)
                ]
            else:
                codes = [
                    code
                    for code, _, _ in launch_local.launch(command, processes, env, capture=False)
                ]
            if any(codes):
                raise SystemExit(f"{out}: a process failed (exit codes {codes})")
            measured[processes] = json.loads((out / "metrics.json").read_text())["final"]
        one, two = measured[1], measured[2]
        rows.append(
            f"| {backend} | {model} | {one['images_per_second']:.1f} | "
            f"{two['images_per_second']:.1f} | "
            f"{two['images_per_second'] / one['images_per_second']:.2f} | "
            f"{one['first_step_seconds']:.1f} | {two['first_step_seconds']:.1f} |"
        )
    print(
        "| backend | model | images/s, 1 process | 2 processes | ratio | "
        "launch to first step, 1 process (s) | 2 processes (s) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker()
    else:
        main()
