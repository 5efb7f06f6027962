"""Fixtures shared across test modules."""

import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent

# The recipe overrides each demo notebook trains with (notebooks/<task>.ipynb). The session fixtures below
# train exactly these runs, so that tests/test_notebooks.py hands a copy to the notebook
# (RNNAPPS_RUN_DIR) and the notebook reuses the finished run instead of training the same model again.
# If a notebook's overrides change, its train() refuses the copied run ("a different recipe"): keep the two
# in step.
NOTEBOOK_OVERRIDES = {
    "sentiment": ["training.epochs=5"],
    "translate": ["decoding.beam_size=4"],
    "generate": ["training.epochs=6", 'decoding.prompt="ROMEO:\\n"'],
    "caption": [],
    "forecast": [],
    "anomaly": [],
    "speech": [],
}


RUN_FIXTURES = (*(f"{task}_run" for task in NOTEBOOK_OVERRIDES), "tunes_run")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the xdist_group markers
def pytest_collection_modifyitems(items):
    """Keep every test of one trained demo run on one pytest-xdist worker (`--dist loadgroup`): a session
    fixture is per worker, so tests of one run spread over two workers would train it twice. (The notebook
    tests ask for their run by name, and carry their group marker themselves.)"""
    for item in items:
        runs = [name for name in RUN_FIXTURES if name in item.fixturenames]
        if runs:
            item.add_marker(pytest.mark.xdist_group(runs[0]))


def _demo_run(tmp_path_factory, task: str, pipeline_cls):
    """Train `tasks/<task>-demo.toml` with the notebook's overrides; returns the run directory."""
    run_dir = tmp_path_factory.mktemp(task) / "run"
    pipeline_cls.train(pipeline_cls.load_recipe(ROOT / "tasks" / f"{task}-demo.toml", NOTEBOOK_OVERRIDES[task]),
                       run_dir)
    return run_dir


@pytest.fixture(scope="session")
def sentiment_run(tmp_path_factory):
    """A sentiment model trained once per test session on the generated demo data (a run directory)."""
    from rnnapps.pipelines.sentiment import SentimentPipeline

    return _demo_run(tmp_path_factory, "sentiment", SentimentPipeline)


@pytest.fixture(scope="session")
def translate_run(tmp_path_factory):
    """A translation model trained once per test session on the generated toy corpus (a run directory)."""
    from rnnapps.pipelines.translate import TranslatePipeline

    return _demo_run(tmp_path_factory, "translate", TranslatePipeline)


@pytest.fixture(scope="session")
def generate_run(tmp_path_factory):
    """A character language model trained once per test session on the generated toy play (a run directory)."""
    from rnnapps.pipelines.generate import GeneratePipeline

    return _demo_run(tmp_path_factory, "generate", GeneratePipeline)


@pytest.fixture(scope="session")
def tunes_run(tmp_path_factory):
    """A model of musical tokens trained once per test session on the generated toy tunes (a run directory)."""
    from rnnapps.pipelines.generate import GeneratePipeline

    run_dir = tmp_path_factory.mktemp("tunes") / "run"
    GeneratePipeline.train(GeneratePipeline.load_recipe(ROOT / "tasks" / "generate-tunes-demo.toml"), run_dir)
    return run_dir


@pytest.fixture(scope="session")
def caption_run(tmp_path_factory):
    """A captioner (small CNN + attention LSTM) trained once per test session on generated scenes (a run
    directory)."""
    from rnnapps.pipelines.caption import CaptionPipeline

    return _demo_run(tmp_path_factory, "caption", CaptionPipeline)


@pytest.fixture(scope="session")
def forecast_run(tmp_path_factory):
    """A recurrent forecaster trained once per test session on the generated demo series (a run directory)."""
    from rnnapps.pipelines.forecast import ForecastPipeline

    return _demo_run(tmp_path_factory, "forecast", ForecastPipeline)


@pytest.fixture(scope="session")
def anomaly_run(tmp_path_factory):
    """A next-row forecaster and its online detector trained once per test session on the generated demo series
    with planted anomalies (a run directory)."""
    from rnnapps.pipelines.anomaly import AnomalyPipeline

    return _demo_run(tmp_path_factory, "anomaly", AnomalyPipeline)


@pytest.fixture(scope="session")
def speech_run(tmp_path_factory):
    """A CTC speech recogniser (conv front-end + BiGRU) trained once per test session on the generated toy phones
    (a run directory)."""
    from rnnapps.pipelines.speech import SpeechPipeline

    return _demo_run(tmp_path_factory, "speech", SpeechPipeline)


# --------------------------------------------------------------------------- rnnapps serve


class ServerProcess:
    """An `rnnapps serve` subprocess on a free loopback port.

    Args:
        args: the serve options after `--port` (models, limits).
        log_path: where its stdout and stderr go (read by `log()`).
    """

    def __init__(self, args: list[str], log_path: pathlib.Path):
        import socket
        import subprocess
        import sys

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "rnnapps.cli", "serve", "--port", str(self.port),
                                             *args], stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, model: str, timeout_s: float = 600) -> "ServerProcess":
        """Poll GET /v1/models/MODEL until it answers; fails with the server's log if the process ends."""
        import time

        import requests

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"rnnapps serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/v1/models/{model}", timeout=5).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        pytest.fail(f"rnnapps serve did not answer within {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace")

    def rss_bytes(self) -> int:
        """The server's resident memory (Linux /proc)."""
        for line in pathlib.Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self, timeout_s: float = 60) -> int:
        """SIGTERM, then the exit code (killed after `timeout_s`)."""
        import signal
        import subprocess

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


SERVED_TASKS = ("sentiment", "translate", "generate", "caption", "forecast", "anomaly", "speech")


@pytest.fixture(scope="session")
def served_bundles(sentiment_run, translate_run, generate_run, caption_run, forecast_run, anomaly_run, speech_run):
    """Task name -> the run directory (bundle) of its demo model."""
    return dict(zip(SERVED_TASKS, (sentiment_run, translate_run, generate_run, caption_run, forecast_run,
                                   anomaly_run, speech_run)))


@pytest.fixture(scope="session")
def serve_cache(tmp_path_factory):
    """The --cache-dir the test servers share (bundles are exported there once)."""
    return tmp_path_factory.mktemp("serve-cache")


@pytest.fixture(scope="session")
def start_server(tmp_path_factory):
    """A factory: start_server(args, ready_model) -> a ready ServerProcess; every one is stopped at the end."""
    started = []

    def start(args: list[str], ready_model: str) -> ServerProcess:
        server = ServerProcess(args, tmp_path_factory.mktemp("serve") / "server.log")
        started.append(server)
        return server.wait_ready(ready_model)

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def server(start_server, served_bundles, serve_cache):
    """`rnnapps serve` with the demo model of every task, each given as its bundle (exported on start)."""
    args = [f"--model={task}={run}" for task, run in served_bundles.items()] + ["--cache-dir", str(serve_cache)]
    return start_server(args, "sentiment")


@pytest.fixture(scope="session")
def tunes_server(start_server, tunes_run, serve_cache):
    """`rnnapps serve` with the toy-tune model (musical tokens) alone, as "tunes"."""
    return start_server([f"--model=tunes={tunes_run}", "--cache-dir", str(serve_cache)], "tunes")
