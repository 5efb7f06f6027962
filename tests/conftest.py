"""Fixtures shared across test modules."""

import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sentiment_run(tmp_path_factory):
    """A sentiment model trained once per test session on the generated demo data (a run directory)."""
    from rnnapps.pipelines.sentiment import SentimentPipeline

    run_dir = tmp_path_factory.mktemp("sentiment") / "run"
    recipe = SentimentPipeline.load_recipe(ROOT / "tasks" / "sentiment-demo.toml", ["training.epochs=4"])
    SentimentPipeline.train(recipe, run_dir)
    return run_dir


@pytest.fixture(scope="session")
def translate_run(tmp_path_factory):
    """A translation model trained once per test session on the generated toy corpus (a run directory)."""
    from rnnapps.pipelines.translate import TranslatePipeline

    run_dir = tmp_path_factory.mktemp("translate") / "run"
    recipe = TranslatePipeline.load_recipe(ROOT / "tasks" / "translate-demo.toml")
    TranslatePipeline.train(recipe, run_dir)
    return run_dir


@pytest.fixture(scope="session")
def generate_run(tmp_path_factory):
    """A character language model trained once per test session on the generated toy play (a run directory)."""
    from rnnapps.pipelines.generate import GeneratePipeline

    run_dir = tmp_path_factory.mktemp("generate") / "run"
    recipe = GeneratePipeline.load_recipe(ROOT / "tasks" / "generate-demo.toml")
    GeneratePipeline.train(recipe, run_dir)
    return run_dir


@pytest.fixture(scope="session")
def caption_run(tmp_path_factory):
    """A captioner (small CNN + attention LSTM) trained once per test session on generated scenes (a run
    directory)."""
    from rnnapps.pipelines.caption import CaptionPipeline

    run_dir = tmp_path_factory.mktemp("caption") / "run"
    recipe = CaptionPipeline.load_recipe(ROOT / "tasks" / "caption-demo.toml")
    CaptionPipeline.train(recipe, run_dir)
    return run_dir
