"""Stopping a model call that nobody waits for any more.

A request that timed out (504) or whose client disconnected must not keep a core busy: a generation of
100,000 characters would otherwise run on for minutes after its answer was given up. TensorFlow can cancel a
running function call: its executor checks a cancellation manager between steps of a `tf.while_loop` (every
decoding loop here is one) and ends the call with `tf.errors.CancelledError`. The manager is not public API
(`tensorflow.python.eager.cancellation`, stable since TensorFlow 2.0); without it a call runs to its end, which
the request-wide bounds (`rnnapps serve --help`) keep finite.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class Stopper:
    """One model call's stop switch: `run` the call on a worker thread, `stop` it from any thread.

    Stopping before the call starts makes the call fail at once; stopping after it ended does nothing.
    """

    def __init__(self):
        self._manager = _new_manager()
        self.stopped = False

    def run(self, function: Callable, *args, **kwargs):
        """Call `function(*args, **kwargs)` (a tf.function or concrete function) so that `stop` can end it.

        Raises:
            Stopped: the call was stopped.
        """
        if self._manager is None:
            return function(*args, **kwargs)
        import tensorflow as tf

        try:
            return self._manager.get_cancelable_function(function)(*args, **kwargs)
        except tf.errors.CancelledError:
            if self.stopped:
                raise Stopped() from None
            raise

    def stop(self) -> None:
        """End the call (it fails with `Stopped`); safe to call more than once, from any thread."""
        if not self.stopped:
            self.stopped = True
            if self._manager is not None:
                self._manager.start_cancel()


class Stopped(Exception):
    """A model call was stopped because nobody waits for its answer any more."""


def _new_manager():
    manager_class = _manager_class()
    return manager_class() if manager_class is not None else None


@functools.cache
def _manager_class():
    try:
        from tensorflow.python.eager.cancellation import CancellationManager
    except ImportError:  # pragma: no cover - TensorFlow moved it: calls run to their end, within the bounds
        log.warning("this TensorFlow cannot cancel a model call: abandoned requests run to their end")
        return None
    return CancellationManager
