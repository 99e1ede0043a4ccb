"""The pictures zoo writes: training curves, attention heat maps, labelled image grids.

Every function takes NumPy data and a path, writes one PNG and returns the path. Matplotlib
runs on its file-only "Agg" canvas, so nothing needs a screen.
"""

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from zoo.metrics import PRDC  # noqa: E402
from zoo.typing import ArrayLike  # noqa: E402

History = Mapping[str, Sequence[float]]  # metric name -> one value per epoch
# How `plot_kid` knows an image score (the share of images that pass a test, which
# `zoo.training.KIDLog` logs beside KID): "<what>_share", beside "<what>_share_real".
SHARE_SUFFIX = "_share"

__all__ = [
    "SHARE_SUFFIX",
    "animate",
    "plot_attention",
    "plot_comparison",
    "plot_curves",
    "plot_image_grid",
    "plot_kid",
]


def plot_curves(history: History, path: str | Path, title: str | None = None) -> Path:
    """Plot per-epoch metrics, one panel per metric, validation beside training.

    Args:
        history: a metric name -> its per-epoch values, as `keras.callbacks.History` keeps
            them (`loss`, `val_loss`, `accuracy`, ...); `val_X` is drawn in the panel of `X`.
        path: the PNG to write.
        title: above the panels.

    Returns:
        `path`.
    """
    names = [name for name in history if not name.startswith("val_")]
    names += [name[4:] for name in history if name.startswith("val_") and name[4:] not in names]
    columns = min(len(names), 3) or 1
    rows = math.ceil(len(names) / columns) or 1
    fig, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.4 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        for series, style in ((name, "-"), ("val_" + name, "--")):
            if series in history:
                values = np.asarray(history[series], dtype=float)
                ax.plot(np.arange(1, len(values) + 1), values, style, marker=".", label=series)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_comparison(
    histories: Mapping[str, History],
    path: str | Path,
    metrics: Sequence[str] = ("val_accuracy", "val_loss"),
    title: str | None = None,
) -> Path:
    """One panel per metric, one line per run.

    Args:
        histories: a run's name -> its history (as `plot_curves` takes).
        path: the PNG to write.
        metrics: the panels; a run without a metric has no line in its panel.
        title: above the panels.

    Returns:
        `path`.
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        for name, history in histories.items():
            if metric in history:
                values = np.asarray(history[metric], dtype=float)
                ax.plot(np.arange(1, len(values) + 1), values, marker=".", label=name)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_kid(history: History, path: str | Path, title: str | None = None) -> Path:
    """Sample quality against the epoch, one panel each: KID (`history["kid"]` with
    `history["kid_std"]` as error bars, `history["kid_floor"]` dashed) and, where logged,
    precision, recall, density and coverage (each `history[name + "_real"]` dashed: real
    against real). A row per feature space: the names without a prefix first, then each
    `KIDLog` prefix's (`random_conv_kid`, ...); last, a row of its image scores (names
    ending in "_share", each beside its "_share_real"), if any. NaN epochs are skipped.

    Args:
        history: as a generative recipe's `metrics.json` holds it.
        path: the PNG to write.
        title: above the panels.

    Returns:
        `path`.
    """
    prefixes = sorted(name[: -len("kid")] for name in history if name.endswith("kid"))
    rows = [
        [prefix + "kid"] + [prefix + name for name in PRDC if prefix + name in history]
        for prefix in prefixes
    ]
    shares = [name for name in history if name.endswith(SHARE_SUFFIX)]
    if shares:
        prefixes, rows = [*prefixes, ""], [*rows, shares]
    columns = max(len(row) for row in rows)
    fig, axes = plt.subplots(
        len(rows), columns, figsize=(3.3 * columns + 0.6, 3.4 * len(rows)), squeeze=False
    )
    for prefix, row, row_axes in zip(prefixes, rows, axes):
        for ax in row_axes[len(row) :]:
            ax.set_visible(False)
        for ax, name in zip(row_axes, row):
            _plot_sample_quality(ax, history, name, prefix)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def _plot_sample_quality(ax, history, name, prefix):
    """One panel of `plot_kid`: `name` (of the feature space `prefix`) over the epochs,
    beside its real-vs-real value."""
    is_kid, is_share = name == prefix + "kid", name.endswith(SHARE_SUFFIX)
    values = np.asarray(history[name], dtype=float)
    epochs = np.arange(1, len(values) + 1)
    measured = np.isfinite(values)
    spread = np.asarray(
        history.get(prefix + "kid_std", np.zeros_like(values)) if is_kid else np.zeros_like(values),
        dtype=float,
    )
    ax.errorbar(
        epochs[measured],
        values[measured],
        yerr=spread[measured],
        marker="o",
        markersize=3,
        capsize=3,
        label="samples" if is_share else "samples vs held-out",
    )
    reference = np.asarray(
        history.get(prefix + "kid_floor" if is_kid else f"{name}_real", []), dtype=float
    )
    reference = reference[np.isfinite(reference)]
    if len(reference):
        ax.axhline(
            reference[-1],
            color="grey",
            linestyle="--",
            label=f"{'training images' if is_share else 'held-out vs training'} "
            f"({reference[-1]:.3g})",
        )
    ax.set_xlabel("epoch")
    ax.set_title(name, fontsize=9)
    if is_kid:
        # The first epochs' KID is often 100x the last ones': logarithmic above 0.01,
        # linear around 0, where an unbiased estimate (and the floor) can dip below it.
        ax.set_yscale("symlog", linthresh=0.01)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_attention(
    weights: ArrayLike,
    path: str | Path,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Heat map of one attention matrix: a row per query, a column per key.

    Args:
        weights: (Lq, Lk).
        path: the PNG to write.
        query_labels: Lq row labels (a translation's tokens, say).
        key_labels: Lk column labels (the source's tokens).
        title: above the map.

    Returns:
        `path`.
    """
    weights = np.asarray(weights)
    lq, lk = weights.shape
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * lk, 0.8 + 0.45 * lq))
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, aspect="auto")
    ax.set_xticks(range(lk), key_labels if key_labels is not None else range(lk), rotation=60)
    ax.set_yticks(range(lq), query_labels if query_labels is not None else range(lq))
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    if lq * lk <= 100:
        for (i, j), w in np.ndenumerate(weights):
            ax.text(
                j,
                i,
                f"{w:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if w < 0.6 * weights.max() else "black",
            )
    fig.colorbar(image, ax=ax, fraction=0.046)
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_image_grid(
    images: ArrayLike,
    path: str | Path,
    labels: Sequence[str] | None = None,
    columns: int = 8,
    title: str | None = None,
) -> Path:
    """A grid of images with an optional caption each.

    Args:
        images: (N, H, W, C), floats in [0, 1] or uint8.
        path: the PNG to write.
        labels: N captions.
        columns: images per row.
        title: above the grid.

    Returns:
        `path`.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    columns = max(1, min(columns, len(images)))
    # One axes showing one picture of all the images, not an axes per image: a 4 x 8 grid
    # of axes takes matplotlib about a second to lay out, and the recipes draw one an epoch.
    height, width = images.shape[1:3]
    gap = max(1, width // 16)
    caption = round(height * 0.18) if labels is not None else 0  # room above each image
    sheet = tile(images, columns, gap=gap, caption=caption)
    title_inches = 0.4 if title else 0.0
    width_inches = 1.6 * columns  # the pictures as wide as before, at their aspect ratio
    fig = plt.figure(
        figsize=(width_inches, width_inches * sheet.shape[0] / sheet.shape[1] + title_inches)
    )
    ax = fig.add_axes((0, 0, 1, 1 - title_inches / fig.get_figheight()))
    ax.axis("off")
    ax.imshow(sheet, interpolation="nearest", aspect="auto")
    for index, label in enumerate([] if labels is None else labels[: len(images)]):
        top, left = _cell_corner(index, columns, height, width, gap, caption)
        ax.text(left + width / 2, top - gap / 2, str(label), ha="center", va="bottom", fontsize=8)
    if title:
        fig.suptitle(title, y=1 - 0.08 / fig.get_figheight(), va="top")
    return _save(fig, path, laid_out=True)


def tile(images: np.ndarray, columns: int, gap: int = 2, caption: int = 0) -> np.ndarray:
    """uint8 images (N, H, W, 3) -> one uint8 picture of them, `columns` wide, with white
    gaps of `gap` pixels between and around them and `caption` white rows above each image
    (room for a label): pixels as they are, no plotting library."""
    images = np.asarray(images)
    count, height, width = images.shape[:3]
    columns = min(columns, count)
    rows = -(-count // columns)
    sheet = np.full(
        (rows * (caption + height + gap) + gap, columns * (width + gap) + gap, 3), 255, np.uint8
    )
    for index, image in enumerate(images):
        top, left = _cell_corner(index, columns, height, width, gap, caption)
        sheet[top : top + height, left : left + width] = image
    return sheet


def _cell_corner(index, columns, height, width, gap, caption):
    """(top, left) pixel of image `index` in `tile`'s picture."""
    row, column = divmod(index, columns)
    return gap + row * (caption + height + gap) + caption, gap + column * (width + gap)


def animate(frames: Sequence[str | Path], path: str | Path, seconds_per_frame: float = 0.5) -> Path:
    """An animated GIF of PNG frames, looping, the last frame held longer.

    Args:
        frames: the PNGs' paths, in order.
        path: the GIF to write.
        seconds_per_frame: how long each frame shows.

    Returns:
        `path`.
    """
    from PIL import Image

    images = [Image.open(frame).convert("RGB") for frame in frames]
    durations = [int(seconds_per_frame * 1000)] * (len(images) - 1) + [2000]
    path = Path(path)
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0)
    return path


def _save(fig, path, laid_out=False):
    """Write `fig` to the PNG `path` (its folder made) and close it; `laid_out`: its axes are
    placed already, matplotlib's tight layout would move them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not laid_out:
        fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
