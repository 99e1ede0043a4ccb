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

__all__ = [
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
    against real). NaN epochs are skipped.

    Args:
        history: as a generative recipe's `metrics.json` holds it.
        path: the PNG to write.
        title: above the panels.

    Returns:
        `path`.
    """
    names = ["kid"] + [name for name in PRDC if name in history]
    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names) + 0.6, 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        values = np.asarray(history[name], dtype=float)
        epochs = np.arange(1, len(values) + 1)
        measured = np.isfinite(values)
        spread = np.asarray(
            history.get("kid_std", np.zeros_like(values))
            if name == "kid"
            else np.zeros_like(values),
            dtype=float,
        )
        ax.errorbar(
            epochs[measured],
            values[measured],
            yerr=spread[measured],
            marker="o",
            markersize=3,
            capsize=3,
            label="samples vs held-out",
        )
        reference = np.asarray(
            history.get("kid_floor" if name == "kid" else f"{name}_real", []), dtype=float
        )
        reference = reference[np.isfinite(reference)]
        if len(reference):
            ax.axhline(
                reference[-1],
                color="grey",
                linestyle="--",
                label=f"held-out vs training ({reference[-1]:.3g})",
            )
        ax.set_xlabel("epoch")
        ax.set_title(name, fontsize=9)
        if name == "kid":
            # The first epochs' KID is often 100x the last ones': logarithmic above 0.01,
            # linear around 0, where an unbiased estimate (and the floor) can dip below it.
            ax.set_yscale("symlog", linthresh=0.01)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


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
        images = np.clip(images, 0.0, 1.0)
    columns = max(1, min(columns, len(images)))
    rows = max(1, math.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.75 * rows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(images):
            ax.imshow(images[index].squeeze(), cmap="gray" if images.shape[-1] == 1 else None)
            if labels is not None:
                ax.set_title(str(labels[index]), fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def tile(images: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """uint8 images (N, S, S, 3) -> one uint8 picture of them, `columns` wide, with white
    gaps of `gap` pixels between and around them: pixels as they are, no plotting library."""
    images = np.asarray(images)
    count, size = len(images), images.shape[1]
    columns = min(columns, count)
    rows = -(-count // columns)
    sheet = np.full((rows * (size + gap) + gap, columns * (size + gap) + gap, 3), 255, np.uint8)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (size + gap) + gap, column * (size + gap) + gap
        sheet[top : top + size, left : left + size] = image
    return sheet


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


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
