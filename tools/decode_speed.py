"""How fast a finished translation run decodes: test sentences per second, greedy and with
beams, with the Transformer's key/value cache and without it (the whole prefix rerun at
every step, `zoo.decoding.WithoutCache`).

    KERAS_BACKEND=jax python tools/decode_speed.py RUN_DIR \
        --data ../shared/data/tatoeba_eng_rus/eng_rus.tsv --source-language ru

RUN_DIR is a finished recipes/transformer.py run (its model, vocabularies and config). The
sentences are the first --count sources of that run's test split, rebuilt from --data with
the run's seed and --max-length (without --data: the synthetic pairs). Each setting decodes
them once to warm up (compilation, caches), then --repeats times; the table gives the best
time. Prints a Markdown table; the translations with and without the cache must agree, or
the tool says which differ.
"""

import argparse
import json
import time
from pathlib import Path

import zoo  # noqa: F401  (before Keras: the backend starts without TensorFlow's start-up logs)

# isort: split
import keras

from zoo import decoding
from zoo.datasets import parallel_text
from zoo.translation import Translator


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--data", default=None, help="the run's --data (default: synthetic)")
    parser.add_argument("--source-language", default=None)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    config = json.loads((args.run_dir / "config.json").read_text())["settings"]
    translator = Translator.load(args.run_dir)
    if args.data is None:
        pairs = parallel_text.make_synthetic(config["synthetic_pairs"], seed=config["seed"])
    else:
        pairs = parallel_text.load(args.data, source_language=args.source_language)
    pairs = parallel_text.prepare(pairs, config["max_length"])
    test = pairs.select(parallel_text.split(pairs, seed=config["seed"]).test)
    encoded = translator.encode(test.sources[: args.count])
    uncached = Translator(
        decoding.WithoutCache(translator.model),
        translator.source_vocab,
        translator.target_vocab,
        translator.max_length,
    )

    print(
        f"{len(encoded)} test sentences of {pairs.source_language} -> "
        f"{pairs.target_language}, {keras.backend.backend()}\n"
    )
    print("| decoding | cache | sentences/s | seconds |")
    print("| --- | --- | --- | --- |")
    outputs = {}
    for width in (1, args.beam_width):
        for name, chosen in (("yes", translator), ("no", uncached)):
            chosen.translate_ids(encoded, beam_width=width)  # warm-up
            best = float("inf")
            for _ in range(args.repeats):
                start = time.perf_counter()
                ids = chosen.translate_ids(encoded, beam_width=width)
                best = min(best, time.perf_counter() - start)
            outputs[width, name] = [translator.target_vocab.decode(row) for row in ids]
            label = "greedy" if width == 1 else f"beam {width}"
            print(f"| {label} | {name} | {len(encoded) / best:.1f} | {best:.2f} |", flush=True)
        differ = sum(a != b for a, b in zip(outputs[width, "yes"], outputs[width, "no"]))
        if differ:
            print(
                f"\n{differ} of {len(encoded)} translations differ with and without the "
                f"cache at width {width}\n"
            )


if __name__ == "__main__":
    main()
