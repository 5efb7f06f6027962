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
}


RUN_FIXTURES = tuple(f"{task}_run" for task in NOTEBOOK_OVERRIDES)


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
