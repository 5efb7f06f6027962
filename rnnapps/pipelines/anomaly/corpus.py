"""Detection over a corpus: one model per series, trained on the series' first rows with one recipe, in this
process or in several (each with one thread: small recurrent models leave a core idle within one process)."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import os
import pathlib
import tempfile
import time
from typing import Any

from rnnapps.pipelines.anomaly import data
from rnnapps.pipelines.anomaly.detection import Detection


@dataclasses.dataclass
class Corpus:
    """Series files scored one model each, as NAB does (`evaluate --data FOLDER --labels JSON`).

    Attributes:
        files: the series files.
        labelled_windows: the labels JSON read (series key -> windows), or None: each file's label column.
    """

    files: list[pathlib.Path]
    labelled_windows: dict[str, list] | None

    def __len__(self) -> int:
        return len(self.files)


def detect_series(pipeline_cls: type, recipe: Any, path: pathlib.Path, labelled_windows: dict[str, list] | None,
                  run_dir: pathlib.Path) -> tuple[data.LabelledSeries, Detection, float]:
    """Train the recipe on one series' first rows (`pipeline_cls.fit_series`, the `AnomalyPipeline`) and detect over
    the whole series.

    Returns:
        (the labelled series, its detection, seconds taken).
    """
    started = time.perf_counter()
    # The corpus' labels JSON, or else each file's label column as the recipe names it.
    recipe = dataclasses.replace(recipe, data=dataclasses.replace(
        recipe.data, source=str(path), format="auto", train_source="", labels="",
        label_column="" if labelled_windows is not None else recipe.data.label_column))
    fitted = pipeline_cls.fit_series(recipe, run_dir)
    splits = data.read_splits(recipe.data)
    labelled = splits.test if labelled_windows is None else data.labelled(
        recipe.data, splits.test.series, splits.test.probation, labelled_windows)
    return labelled, fitted.detect(labelled), round(time.perf_counter() - started, 2)


def detect_corpus(pipeline_cls: type, recipe: Any, corpus: Corpus,
                  processes: int = 1) -> list[tuple[data.LabelledSeries, Detection, float]]:
    """`detect_series` for every file of the corpus, in file order, with a progress bar.

    Args:
        pipeline_cls: the `AnomalyPipeline` (passed in: this module is imported by it).
        recipe: the recipe every series is trained with.
        corpus: the files and their labels.
        processes: worker processes (1 = this process); each worker runs TensorFlow with one thread.
    """
    from tqdm.auto import tqdm

    progress = tqdm(total=len(corpus.files), desc="series", unit="series")
    with tempfile.TemporaryDirectory(prefix="rnnapps-anomaly-") as runs:
        jobs = [(pipeline_cls, recipe, path, corpus.labelled_windows, pathlib.Path(runs) / f"{index:03d}")
                for index, path in enumerate(corpus.files)]
        if processes <= 1:
            results = []
            for job in jobs:
                results.append(detect_series(*job))
                progress.update()
        else:
            results = [None] * len(jobs)
            context = multiprocessing.get_context("spawn")  # TensorFlow does not survive a fork
            with concurrent.futures.ProcessPoolExecutor(processes, mp_context=context,
                                                        initializer=_one_thread) as pool:
                futures = {pool.submit(detect_series, *job): index for index, job in enumerate(jobs)}
                for future in concurrent.futures.as_completed(futures):
                    results[futures[future]] = future.result()
                    progress.update()
    progress.close()
    return results


def _one_thread() -> None:
    """A worker's start: TensorFlow with one thread, and only warnings from rnnapps."""
    import logging

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.get_logger().setLevel("ERROR")
    logging.getLogger("rnnapps").setLevel(logging.WARNING)
