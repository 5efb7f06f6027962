"""Pictures that say more than numbers: training curves and confusion matrices (matplotlib, PNG)."""

from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_training_curves(history: dict[str, list[float]], path: str | pathlib.Path) -> pathlib.Path:
    """One panel per metric (loss, accuracy, ...), training and validation curves over epochs.

    Args:
        history: metric name -> value per epoch, as Keras logs them ("loss", "val_loss", ...).
        path: PNG file to write.

    Returns:
        The path written.
    """
    names = sorted(name for name in history if not name.startswith("val_") and name != "learning_rate")
    figure, axes = plt.subplots(1, max(len(names), 1), figsize=(4.5 * max(len(names), 1), 3.5), squeeze=False)
    for axis, name in zip(axes[0], names):
        epochs = np.arange(1, len(history[name]) + 1)
        axis.plot(epochs, history[name], marker="o", label="training")
        if f"val_{name}" in history:
            axis.plot(np.arange(1, len(history[f"val_{name}"]) + 1), history[f"val_{name}"], marker="o",
                      label="validation")
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    return _save(figure, path)


def plot_confusion_matrix(matrix, labels: list[str], path: str | pathlib.Path) -> pathlib.Path:
    """Heatmap of a confusion matrix [classes, classes] (rows true, columns predicted) with counts."""
    matrix = np.asarray(matrix)
    size = max(3.0, 0.6 * len(labels) + 2)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, str(count), ha="center", va="center",
                  color="white" if count > threshold else "black")
    figure.colorbar(image, ax=axis)
    figure.tight_layout()
    return _save(figure, path)


def plot_attention(weights, source_tokens: list[str], target_tokens: list[str], path: str | pathlib.Path,
                   title: str = "") -> pathlib.Path:
    """Heatmap of attention weights [target_tokens, source_tokens]: which source token each output
    token looked at."""
    weights = np.asarray(weights)[: len(target_tokens), : len(source_tokens)]
    figure, axis = plt.subplots(figsize=(max(4.0, 0.45 * len(source_tokens) + 2),
                                         max(3.0, 0.4 * len(target_tokens) + 1.5)))
    axis.imshow(weights, cmap="viridis", aspect="auto", vmin=0.0, vmax=max(float(weights.max(initial=0)), 1e-6))
    axis.set_xticks(range(len(source_tokens)), source_tokens, rotation=60, ha="right")
    axis.set_yticks(range(len(target_tokens)), target_tokens)
    axis.set_xlabel("source")
    axis.set_ylabel("output")
    if title:
        axis.set_title(title)
    figure.tight_layout()
    return _save(figure, path)


def _save(figure, path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
