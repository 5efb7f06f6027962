"""Drop TensorFlow's known harmless C++ notices from the process's standard error, for a whole CLI run.

TensorFlow's C++ runtime writes to file descriptor 2 directly, so Python's logging cannot filter it, and
TF_CPP_MIN_LOG_LEVEL either lets its ERROR-level notices through (such as "oneDNN supports DT_BOOL only on
platforms with AVX-512", printed at every training on many CPUs) or, at 3, hides real errors too. Here fd 2
goes through a pipe; a thread forwards every line to the real stderr except the ones in `HARMLESS`, so real
errors, tracebacks and progress bars still reach the user.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

# Whole lines TensorFlow prints that say nothing is wrong (matched after its "E0000 12:00:00.0 123 " prefix).
HARMLESS = re.compile(
    rb"^(?:[IWE]\d{4} [\d:.]+\s+\d+ (?:"
    rb"util\.cc:\d+\] oneDNN supports DT_[A-Z0-9]+ only on platforms with AVX-512"
    rb"|port\.cc:\d+\] oneDNN custom operations are on"
    rb"|cudart_stub\.cc:\d+\] Could not find cuda drivers"
    rb"|cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized"
    rb")"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .* in other operations, rebuild TensorFlow with the appropriate "
    rb"compiler flags\.)")
# A line still being written is held back only while it could become one of those.
_MAYBE_HARMLESS = re.compile(rb"^(?:[IWE]\d|WARNING: All|To enable)")

_active: _Filter | None = None


class _Filter:
    """fd 2 -> pipe -> a forwarding thread -> the original stderr."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self.original = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.thread = threading.Thread(target=self._forward, args=(read_end,), name="quiet-stderr", daemon=True)
        self.thread.start()

    def _write(self, data: bytes) -> None:
        while data:
            data = data[os.write(self.original, data):]

    def _forward(self, read_end: int) -> None:
        pending = b""
        while chunk := os.read(read_end, 65536):
            *lines, pending = (pending + chunk).split(b"\n")
            self._write(b"".join(line + b"\n" for line in lines if not HARMLESS.match(line)))
            if pending and not _MAYBE_HARMLESS.match(pending):
                self._write(pending)  # a progress bar without a newline yet: show it now
                pending = b""
        if pending and not HARMLESS.match(pending):
            self._write(pending)
        os.close(read_end)

    def close(self) -> None:
        """Put the original stderr back and wait until everything written before is forwarded."""
        sys.stderr.flush()
        os.dup2(self.original, 2)  # closes the pipe's last write end: the thread reads to the end and stops
        self.thread.join(timeout=5)
        os.close(self.original)


def start_tensorflow() -> None:
    """Start TensorFlow without its start-up chatter and keep its later C++ notices out of stderr (`install`).
    Commands call it once their cheap checks have passed (a recipe, a bundle path), so that those are answered
    before the seconds TensorFlow takes to import."""
    _import_tensorflow_quietly()
    install()  # TensorFlow's C++ notices come at any time, not only at start-up (e.g. at the first step)


def _import_tensorflow_quietly() -> None:
    """Import and start TensorFlow with stderr muted at the file-descriptor level.

    TensorFlow's C++ runtime prints start-up lines (CUDA probing, absl notices) before Python logging
    can filter them, and TF_CPP_MIN_LOG_LEVEL does not cover all of them. Errors are still reported:
    only these start-up writes are discarded. RNNAPPS_DEBUG=1 keeps them.
    """
    if os.environ.get("RNNAPPS_DEBUG") or "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            tf.config.list_logical_devices()  # device discovery prints its own notices
            tf.constant(0)
    finally:
        os.dup2(saved, 2)
        os.close(saved)



def install() -> None:
    """Filter fd 2 for the rest of the process (idempotent). Does nothing when Python's stderr is not fd 2
    (captured, as in tests) or when RNNAPPS_DEBUG is set."""
    global _active
    if _active is not None or os.environ.get("RNNAPPS_DEBUG"):
        return
    try:
        if sys.stderr.fileno() != 2:
            return
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return
    _active = _Filter()
    atexit.register(uninstall)


def uninstall() -> None:
    """Stop filtering (also run at exit)."""
    global _active
    if _active is not None:
        _active.close()
        _active = None
