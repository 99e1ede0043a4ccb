"""`python -m zoo.demo`: serve the demo page on 127.0.0.1 (see zoo/demo/__init__.py)."""

import argparse
import sys
from pathlib import Path

from zoo.training.flags import positive_int


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m zoo.demo", description=__doc__)
    parser.add_argument("--port", type=positive_int, default=7860, help="default: %(default)s")
    parser.add_argument(
        "--model",
        type=Path,
        action="append",
        default=[],
        metavar="RUN_DIR",
        help="a finished run directory to serve in place of its tab's preset (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        import gradio  # noqa: F401
    except ImportError:
        parser.error("the demo needs Gradio: pip install 'zoo[demo]'")
    from zoo.demo import app, tasks

    try:
        models = tasks.Models(runs=args.model)
    except tasks.DemoError as error:
        parser.error(str(error))
    page = app.build(models)
    print(f"zoo demo on http://127.0.0.1:{args.port} (Ctrl+C stops it)", flush=True)
    page.queue(default_concurrency_limit=2).launch(
        server_name="127.0.0.1", server_port=args.port, show_error=False, quiet=True
    )


if __name__ == "__main__":
    sys.exit(main())
