"""A watchdog on training steps for multi-process training (rnnapps.distributed): a process whose peers have
stopped would otherwise wait in a collective forever."""

from __future__ import annotations

import logging
import os
import threading
import time

import keras

from rnnapps import quiet_stderr

log = logging.getLogger(__name__)

EXIT_PEER_LOST = 75  # EX_TEMPFAIL: run the same command again


class StepWatchdog(keras.callbacks.Callback):
    """Ends the process with a clear message when no training or validation step has finished for `timeout_s`
    seconds (another process has stopped, and this one waits in a collective that will never complete).

    The time before the first step (tracing, compiling) is not watched.
    """

    def __init__(self, timeout_s: float, process_id: int):
        super().__init__()
        self.timeout_s = timeout_s
        self.process_id = process_id
        self._last = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="rnnapps-step-watchdog", daemon=True)

    def _beat(self, *_args, **_kwargs) -> None:
        self._last = time.monotonic()

    on_train_batch_end = on_test_batch_end = _beat

    def on_train_begin(self, logs=None):
        self._thread.start()

    def on_train_end(self, logs=None):
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(min(5.0, self.timeout_s / 4)):
            if self._last is not None and time.monotonic() - self._last > self.timeout_s:
                log.error("process %d: no training step finished in %.0f s: another training process has most "
                          "likely stopped. Stopping this one too; run the same command again (every process) to "
                          "resume from the last finished epoch", self.process_id, self.timeout_s)
                logging.shutdown()
                quiet_stderr.uninstall()  # forwards what the filter thread still holds: os._exit would drop it
                os._exit(EXIT_PEER_LOST)
