"""Stopping a model call that nobody waits for any more.

A request that timed out (504) or whose client disconnected must not keep a core busy: a generation of
100,000 characters would otherwise run on for minutes after its answer was given up. TensorFlow can cancel a
running function call: its executor checks a cancellation manager between steps of a `tf.while_loop` (every
decoding loop here is one) and ends the call with `tf.errors.CancelledError`. The manager is not public API
(`tensorflow.python.eager.cancellation`, stable since TensorFlow 2.0); without it a call runs to its end, which
the request-wide bounds (`rnnapps serve --help`) keep finite.

TensorFlow hands a call its manager through one process-wide variable (`cancellation.context()`, read when
the call starts), so two worker threads starting calls at once could swap managers: the server makes that
lookup per thread (`_install_per_thread_context`), falling back to TensorFlow's own variable for anyone else.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

_this_thread = threading.local()  # .manager: the CancellationManager of the call this thread is starting


class Stopper:
    """One model call's stop switch: `run` the call on a worker thread, `stop` it from any thread.

    Stopping before the call starts makes the call fail at once; stopping after it ended does nothing.
    """

    def __init__(self):
        manager_class = _manager_class()
        self._manager = manager_class() if manager_class is not None else None
        self.stopped = False

    def run(self, function: Callable, *args, **kwargs):
        """Call `function(*args, **kwargs)` (a tf.function, a concrete function, or Python code that calls
        one) on this thread so that `stop` can end it.

        Raises:
            Stopped: the call was stopped.
        """
        if self._manager is None:
            return function(*args, **kwargs)
        import tensorflow as tf

        _this_thread.manager = self._manager
        try:
            return function(*args, **kwargs)
        except tf.errors.CancelledError:
            if self.stopped:
                raise Stopped() from None
            raise
        finally:
            _this_thread.manager = None

    def stop(self) -> None:
        """End the call (it fails with `Stopped`); safe to call more than once, from any thread."""
        if not self.stopped:
            self.stopped = True
            if self._manager is not None:
                self._manager.start_cancel()


class Stopped(Exception):
    """A model call was stopped because nobody waits for its answer any more."""


@functools.cache
def _manager_class():
    """TensorFlow's CancellationManager, with the per-thread lookup installed; None where it is missing."""
    try:
        from tensorflow.python.eager import cancellation
    except ImportError:  # pragma: no cover - TensorFlow moved it: calls run to their end, within the bounds
        log.warning("this TensorFlow cannot cancel a model call: abandoned requests run to their end")
        return None
    _install_per_thread_context(cancellation)
    return cancellation.CancellationManager


def _install_per_thread_context(cancellation) -> None:
    """Make `cancellation.context()` (what TensorFlow reads when a call starts) answer this thread's manager,
    else TensorFlow's own process-wide one (`CancellationManager.get_cancelable_function` keeps working)."""
    process_wide = cancellation.context

    def context():
        return getattr(_this_thread, "manager", None) or process_wide()

    cancellation.context = context
