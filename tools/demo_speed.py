"""How fast the demo page answers, through its own HTTP API (gradio_client), on this backend:

    KERAS_BACKEND=jax python tools/demo_speed.py [--repeats 3]

Starts `python -m zoo.demo` on a free local port, then times three requests: 16 flowers
(DCGAN), one translation with a beam of 4 (each direction), one photo. The first call of each
(the model's loading and first compilation) is reported apart from the median of the next
`--repeats`. The target is under 2 s each after the first call, on 2 cores.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="tools/demo_speed.py", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from gradio_client import Client, handle_file

    from zoo.datasets import cats_vs_dogs
    from zoo.demo.server import DemoServer
    from zoo.training.run import machine

    started = time.perf_counter()
    with DemoServer() as url:
        print(f"page up in {time.perf_counter() - started:.1f} s")
        client = Client(url, verbose=False)
        photo = Path(tempfile.mkdtemp()) / "pet.jpg"
        source = sorted(Path(cats_vs_dogs.make_synthetic(count=2)).glob("*.jpg"))[0]
        Image.open(source).convert("RGB").save(photo)
        requests = {
            "16 flowers (DCGAN)": lambda: client.predict("DCGAN", 0, 16, api_name="/flowers"),
            "translation ru->en, beam 4": lambda: client.predict(
                "Russian → English", "Я не знаю, что делать.", "beam", 4, api_name="/translate"
            ),
            "translation en->fr, beam 4": lambda: client.predict(
                "English → French",
                "new jersey is sometimes quiet during autumn .",
                "beam",
                4,
                api_name="/translate",
            ),
            "one photo": lambda: client.predict(handle_file(str(photo)), api_name="/classify"),
        }
        backend = os.environ.get("KERAS_BACKEND", "tensorflow")
        print(f"backend {backend}, {machine()}")
        print(f"{'request':<28} {'first call':>10} {'then (median)':>14}  message")
        for name, request in requests.items():
            times = []
            for _ in range(1 + args.repeats):
                begin = time.perf_counter()
                answer = request()
                times.append(time.perf_counter() - begin)
            message = answer[-1] if isinstance(answer, (list, tuple)) else ""
            print(
                f"{name:<28} {times[0]:>9.2f}s {statistics.median(times[1:]):>13.2f}s  "
                f"{message or 'ok'}"
            )


if __name__ == "__main__":
    sys.exit(main())
