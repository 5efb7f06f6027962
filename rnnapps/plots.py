"""Pictures that say more than numbers: training curves, confusion matrices, attention heatmaps, attention
maps over images and forecasts with their intervals (matplotlib, PNG)."""

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
    names = sorted(name for name in history
                   if not name.startswith("val_") and name not in ("learning_rate", "epoch_seconds",
                                                                    "validation_seconds"))
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


def plot_image_attention(image, weights, grid: tuple[int, int], words: list[str], path: str | pathlib.Path,
                         title: str = "") -> pathlib.Path:
    """The image once per generated word, with that word's attention over the feature grid laid on top.

    Args:
        image: float [height, width, 3] in [0, 1] (or uint8).
        weights: float [words, grid_height * grid_width] attention weights, one row per word.
        grid: (grid_height, grid_width) of the feature map the weights are over.
        words: the generated words (tokens), one per row of `weights`.
        path: PNG file to write.
        title: caption shown above the panels.

    Returns:
        The path written.
    """
    image = np.asarray(image)
    weights = np.asarray(weights)[: len(words)]
    columns = min(5, max(len(words), 1))
    rows = -(-max(len(words), 1) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.6 * rows + 0.4), squeeze=False)
    extent = (0, image.shape[1], image.shape[0], 0)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= len(words):
            continue
        axis.imshow(image, extent=extent)
        # Bilinear upsampling of the coarse grid reads better than blocks.
        axis.imshow(weights[index].reshape(grid), cmap="inferno", alpha=0.55, extent=extent, interpolation="bilinear")
        axis.set_title(words[index], fontsize=11)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return _save(figure, path)


def plot_forecast(history_x, history, forecast_x, forecast, channel_names: list[str], path: str | pathlib.Path,
                  actual=None, intervals=(), title: str = "", max_channels: int = 4) -> pathlib.Path:
    """Forecast against the history before it (and the actual values, when known), with prediction intervals
    as shaded bands; one panel per channel (the first `max_channels`).

    Args:
        history_x: x values [L] of the history (datetime64 or step numbers).
        history: float [L, channels].
        forecast_x: x values [H] of the forecast.
        forecast: float [H, channels], the point forecast.
        channel_names: a name per channel.
        path: PNG file to write.
        actual: float [H, channels] or None.
        intervals: (label, lower [H, channels], upper [H, channels]) per interval, widest first.
        title: figure title.
        max_channels: panels drawn at most.

    Returns:
        The path written.
    """
    count = min(len(channel_names), max_channels)
    figure, axes = plt.subplots(count, 1, figsize=(10, 2.6 * count + 0.6), squeeze=False, sharex=True)
    for channel, axis in enumerate(axes[:, 0]):
        axis.plot(history_x, np.asarray(history)[:, channel], color="0.35", linewidth=1, label="history")
        for shade, (label, lower, upper) in enumerate(intervals):
            axis.fill_between(forecast_x, np.asarray(lower)[:, channel], np.asarray(upper)[:, channel],
                              color="tab:blue", alpha=0.15 + 0.1 * shade, linewidth=0, label=label)
        if actual is not None:
            axis.plot(forecast_x, np.asarray(actual)[:, channel], color="black", linewidth=1.2, label="actual")
        axis.plot(forecast_x, np.asarray(forecast)[:, channel], color="tab:blue", linewidth=1.5, label="forecast")
        axis.set_ylabel(channel_names[channel])
        axis.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper left", fontsize=8, ncol=5)
    if title:
        axes[0, 0].set_title(title)
    figure.autofmt_xdate()
    figure.tight_layout()
    return _save(figure, path)


def plot_anomalies(x, values, channel_names: list[str], scores, flags, path: str | pathlib.Path, *, lower=None,
                   upper=None, windows=(), threshold: float | None = None, title: str = "",
                   max_channels: int = 4) -> pathlib.Path:
    """A series with its forecast interval, flagged rows and labelled windows, over its anomaly score.

    Args:
        x: x values [rows] (datetime64 or row numbers).
        values: float [rows, channels].
        channel_names: a name per channel.
        scores: float [rows] in [0, 1].
        flags: bool [rows].
        path: PNG file to write.
        lower, upper: float [rows, channels], the forecast interval (NaN where there is none), or None.
        windows: (first, last) row of each labelled anomaly window, shaded.
        threshold: the flagging threshold, drawn on the score panel.
        title: figure title.
        max_channels: value panels drawn at most.

    Returns:
        The path written.
    """
    x, values, flags = np.asarray(x), np.asarray(values), np.asarray(flags, bool)
    count = min(len(channel_names), max_channels)
    figure, axes = plt.subplots(count + 1, 1, figsize=(11, 2.4 * count + 2.2), squeeze=False, sharex=True,
                                gridspec_kw={"height_ratios": [3] * count + [1.4]})
    panels = [*axes[:count, 0], axes[count, 0]]
    for first, last in windows:
        for axis in panels:
            axis.axvspan(x[first], x[last], color="tab:orange", alpha=0.18, linewidth=0)
    for channel, axis in enumerate(panels[:count]):
        if lower is not None and upper is not None:
            axis.fill_between(x, np.asarray(lower)[:, channel], np.asarray(upper)[:, channel], color="tab:blue",
                              alpha=0.2, linewidth=0, label="forecast interval")
        axis.plot(x, values[:, channel], color="0.25", linewidth=0.8, label=channel_names[channel])
        axis.scatter(x[flags], values[flags, channel], color="tab:red", s=36, zorder=3, label="flagged")
        axis.set_ylabel(channel_names[channel])
    panels[0].legend(loc="upper left", fontsize=8)
    score_axis = panels[-1]
    score_axis.plot(x, scores, color="tab:purple", linewidth=0.8)
    if threshold is not None:
        score_axis.axhline(threshold, color="tab:red", linestyle="--", linewidth=0.8)
    score_axis.set_ylim(0, 1.05)
    score_axis.set_ylabel("anomaly score")
    if title:
        figure.suptitle(title)
    return _save(figure, path)

def _save(figure, path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
