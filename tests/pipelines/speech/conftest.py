"""Fixtures of the speech tests."""

import pytest


@pytest.fixture(scope="module")
def pipeline(speech_run):
    """The demo speech recogniser, loaded from its bundle."""
    from rnnapps.pipelines.speech import SpeechPipeline

    return SpeechPipeline.from_bundle(speech_run)
