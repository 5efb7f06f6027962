"""Whether the input pipeline keeps up with training on a CPU.

Keras fetches each batch inside the compiled train step, so the trainer cannot see its input wait directly.
On a CPU the input pipeline and the train step share the same cores, so what matters is how much of a step's
time the pipeline needs on its own: the trainer times a few batches of a fresh pass of the validation data
(built like the training batches, and reading it leaves the training data's shuffling alone) before training,
and `InputPipelineWatch` compares them with the first epoch's seconds per step and says so when the pipeline
takes a large share.
"""

from __future__ import annotations

import logging
import time

import keras

log = logging.getLogger(__name__)

PROBE_BATCHES = 8
SKIPPED_BATCHES = 2  # the first batches of a pass also fill the shuffle buffer and the length buckets
SHARE_WORTH_SAYING = 0.25


def seconds_per_batch(dataset, batches: int = PROBE_BATCHES, skipped: int = SKIPPED_BATCHES) -> float | None:
    """Seconds the input pipeline takes per batch on its own, timed over `batches` batches of a fresh pass
    after `skipped` ones; None when the dataset has fewer batches than that."""
    iterator = iter(dataset)
    try:
        for _ in range(skipped):
            next(iterator)
        started = time.perf_counter()
        for _ in range(batches):
            next(iterator)
    except StopIteration:
        return None
    return (time.perf_counter() - started) / batches


class InputPipelineWatch(keras.callbacks.Callback):
    """Logs, after the first epoch, how much of a train step's time the input pipeline needs on its own:
    a warning when it is `SHARE_WORTH_SAYING` or more (on a CPU that time is taken from training), a debug
    line otherwise.

    Args:
        input_seconds: seconds per batch of the input pipeline alone (`seconds_per_batch`).
    """

    def __init__(self, input_seconds: float):
        super().__init__()
        self.input_seconds = input_seconds
        self.steps = 0
        self.step_seconds = 0.0  # summed over the epoch's train steps; validation is not among them
        self.step_started = 0.0
        self.share: float | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.steps, self.step_seconds = 0, 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self.step_started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self.step_seconds += time.perf_counter() - self.step_started

    def on_epoch_end(self, epoch, logs=None):
        if self.share is not None or not self.steps:
            return
        step_seconds = self.step_seconds / self.steps
        self.share = self.input_seconds / step_seconds
        say = log.warning if self.share >= SHARE_WORTH_SAYING else log.debug
        say("input pipeline: %.0f ms per batch on its own against %.0f ms per train step (%.0f%%)%s",
            1000 * self.input_seconds, 1000 * step_seconds, 100 * self.share,
            "; on a CPU it shares the cores with training and slows it down: make batches cheaper to build "
            "(ids tokenized once, fewer per-example map calls)" if self.share >= SHARE_WORTH_SAYING else "")
