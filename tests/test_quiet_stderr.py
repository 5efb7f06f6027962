"""TensorFlow's harmless C++ notices are dropped from a CLI run's stderr; everything else still shows."""

import os
import subprocess
import sys

import pytest

from rnnapps import quiet_stderr

NOTICE = (b"E0000 00:00:1796190710.797523   19259 util.cc:131] oneDNN supports DT_BOOL only on platforms with "
          b"AVX-512. Falling back to the default Eigen-based implementation if present.\n")
REAL_ERROR = b"E0000 00:00:1796190710.797523   19259 kernel.cc:42] a real error\n"
SCRIPT = f"""
import os, sys
from rnnapps import quiet_stderr
quiet_stderr.install()
os.write(2, {NOTICE!r})
os.write(2, {REAL_ERROR!r})
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
sys.stderr.write("Traceback (most recent call last):\\n")
sys.stderr.flush()
os.write(2, b"progress 50%\\r")
print("out")
"""


@pytest.mark.parametrize("debug", [False, True])
def test_known_notices_are_dropped_and_the_rest_kept(debug):
    env = {key: value for key, value in os.environ.items() if key != "RNNAPPS_DEBUG"}
    if debug:
        env["RNNAPPS_DEBUG"] = "1"
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, env=env, timeout=60, check=True)
    assert done.stdout == b"out\n"
    absl = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    rest = b"Traceback (most recent call last):\n" + b"progress 50%\r"
    # RNNAPPS_DEBUG shows everything; otherwise only the two known notices go.
    assert done.stderr == (NOTICE + REAL_ERROR + absl + rest if debug else REAL_ERROR + rest)


def test_a_captured_stderr_is_left_alone(capsys):
    quiet_stderr.install()  # pytest's capture replaces sys.stderr: nothing to filter, nothing changed
    assert quiet_stderr._active is None
