"""tools/bench.py's pieces, one job each (`python tools/bench.py --help` runs them):

models      the benchmarked models, their sizes and synthetic data
references  the plain-Keras reference models (also usable as test oracles)
timing      the measurements inside each subprocess
intervals   the median ratio's interval and verdict
machine     the matmul limit, the BLAS kernel, the machine's description
pipelines   the image recipes' input pipelines on real data
report      BENCHMARKS.json and BENCHMARKS.md
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project
CLI = Path(__file__).resolve().parents[1] / "bench.py"  # what the subprocesses run
