"""A small PNG of a generative run's samples beside real images of the same size, for the
README and the docs:

    python tools/sample_sheet.py runs/gan-... docs/oxford17_dcgan.png
    python tools/sample_sheet.py RUN_DIR OUT.png --columns 8 --rows 2 --seed 4321

The top row holds held-out real images of the run (its --data, or the built-in flowers, with
its --val-fraction and --seed); the rows below, samples of the run's model.keras from one
latent draw (`--seed`). Pixels are written as they are, 64 px each with a 2 px gap, with no
plotting library: the file stays a few hundred KB at most.
"""

import argparse
import sys
from pathlib import Path

# isort: split
import keras
import numpy as np
from PIL import Image

from zoo import plots
from zoo.datasets import DataError
from zoo.training import positive_int

sys.path.insert(0, str(Path(__file__).parents[1] / "recipes"))
import flowers_common  # noqa: E402  (recipes/flowers_common.py: the run's own images)

parser = argparse.ArgumentParser(
    prog="tools/sample_sheet.py",
    description=__doc__,
    formatter_class=argparse.RawDescriptionHelpFormatter,
)
parser.add_argument("run", type=Path, help="a finished gan.py or vae.py run directory")
parser.add_argument("out", type=Path, help="the PNG to write")
parser.add_argument("--columns", type=positive_int, default=8)
parser.add_argument("--rows", type=positive_int, default=2, help="rows of samples")
parser.add_argument("--seed", type=int, default=4321, help="of the latent draw")
args = parser.parse_args()

try:
    settings, data, _, held_out, model = flowers_common.load_run(args.run)
except DataError as error:
    parser.error(str(error))
real = data.images[held_out[: args.columns]]
count = args.columns * args.rows
samples = keras.ops.convert_to_numpy(model.sample(count, seed=args.seed))
samples = (np.clip(samples, 0, 1) * 255).round().astype(np.uint8)

sheet = plots.tile([*real, *samples], args.columns)
args.out.parent.mkdir(parents=True, exist_ok=True)
Image.fromarray(sheet).save(args.out, optimize=True)
print(
    f"{args.out}: {len(real)} real images (top row), {count} samples; "
    f"{args.out.stat().st_size / 1024:.0f} KB"
)
