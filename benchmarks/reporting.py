"""Publishing benchmark results the same way for every task: a Markdown table on stdout, a JSON file, and
(with --record) a section appended to benchmarks/RESULTS.md with the command, the machine and the date."""

from __future__ import annotations

import json
import os
import pathlib
import platform

RESULTS_FILE = pathlib.Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    """One line describing this machine and the library versions."""
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    accelerator = f"{len(gpus)} GPU" if gpus else "no GPU"
    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, {accelerator}, TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}")


def publish(results: dict, rows: list[tuple[str, ...]], json_out: str | pathlib.Path, *, record: bool,
            title: str, command: str, notes: tuple[str, ...] = (),
            header: tuple[str, ...] = ("metric", "value")) -> str:
    """Print the table, write `results` as JSON and, if `record`, append a RESULTS.md section.

    Args:
        results: JSON-ready numbers; must hold "date" and "machine".
        rows: the table's rows of formatted cells, by default (metric, value) pairs.
        json_out: JSON file to write.
        record: append to RESULTS.md.
        title: section title, e.g. "sentiment: tasks/sentiment-imdb.toml".
        command: the command line that reproduces the run.
        notes: extra "- ..." lines for the section (e.g. where the model came from).
        header: the table's column names (one per cell of a row).

    Returns:
        The Markdown table.
    """
    table = "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                       *("| " + " | ".join(row) + " |" for row in rows)])
    print(table)
    json_path = pathlib.Path(json_out)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nJSON written to {json_path}")
    if record:
        lines = [f"- command: `{command}`", *(f"- {note}" for note in notes), f"- machine: {results['machine']}"]
        with RESULTS_FILE.open("a", encoding="utf-8") as handle:
            handle.write(f"\n## {title} ({results['date']})\n\n" + "\n".join(lines) + f"\n\n{table}\n")
    return table
