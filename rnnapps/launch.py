"""`rnnapps launch`: start several training processes on this machine, as a cluster launcher would on several.

Each process gets the environment multi-process training reads (rnnapps.distributed): the coordinator on a
free loopback port, the process count and its own id. When one process fails or is killed, the launcher stops
the others at once and says which one; when all finish, it returns 0.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time

from rnnapps import distributed
from rnnapps.errors import UserError

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 20


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_environments(processes: int, port: int, base: dict[str, str]) -> list[dict[str, str]]:
    """The environment of each of `processes` processes that meet at 127.0.0.1:`port`."""
    return [{**base, distributed.ENV_COORDINATOR: f"127.0.0.1:{port}",
             distributed.ENV_NUM_PROCESSES: str(processes), distributed.ENV_PROCESS_ID: str(index)}
            for index in range(processes)]


def command_line(command: list[str]) -> list[str]:
    """`command` to start: a leading "rnnapps" runs this installation's rnnapps (python -m rnnapps)."""
    if not command:
        raise UserError("give the training command after --, e.g. rnnapps launch --processes 2 -- rnnapps "
                        "sentiment train --recipe sentiment-demo --backend jax")
    if os.path.basename(command[0]) == "rnnapps":
        return [sys.executable, "-m", "rnnapps", *command[1:]]
    return command


def launch(command: list[str], processes: int, port: int | None = None) -> int:
    """Run `command` as `processes` cooperating processes; returns the exit status for the launcher.

    Returns:
        0 when every process finished; else the status of the first process that failed (the others
        are stopped), 128 + signal number for a process killed by a signal.
    """
    if processes < 1:
        raise UserError(f"--processes must be at least 1, not {processes}")
    argv = command_line(command)
    port = port or free_port()
    # Each process in a session of its own: stopping it also stops the training process it may have started
    # (`train --backend jax`).
    children = [subprocess.Popen(argv, env=env, start_new_session=True)
                for env in process_environments(processes, port, dict(os.environ))]
    try:
        return _watch(children)
    except KeyboardInterrupt:  # the processes, in sessions of their own, did not see it: pass it on
        _stop(children, signal.SIGINT)
        return 130


def _watch(children: list[subprocess.Popen]) -> int:
    running = set(range(len(children)))
    while running:
        time.sleep(POLL_SECONDS)
        for index in sorted(running):
            code = children[index].poll()
            if code is None:
                continue
            running.discard(index)
            if code != 0:
                status = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
                log.error("training process %d %s; stopping the other %d. Run the same command again to resume "
                          "from the last finished epoch", index, status, len(running))
                _stop([children[other] for other in running], signal.SIGTERM)
                return 128 - code if code < 0 else code
    return 0


def _stop(children: list[subprocess.Popen], first_signal: int) -> None:
    """Signal `children` and their process groups, wait up to STOP_GRACE_SECONDS for them, then kill what is
    left."""
    for child in children:
        _signal_group(child, first_signal)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        _signal_group(child, signal.SIGKILL)  # also whatever it started and left behind
        child.wait()


def _signal_group(child: subprocess.Popen, signal_number: int) -> None:
    try:
        os.killpg(child.pid, signal_number)
    except ProcessLookupError:  # the whole group has exited
        pass
