"""TFDS speech datasets read offline through the shared TFDS reader (tfds.testing.mock_data)."""

import os

import numpy as np
import pytest

from rnnapps.pipelines.speech import data
from rnnapps.pipelines.speech import recipe as recipes


def test_speech_commands_labels_become_transcripts_offline(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    recipe = recipes.SpeechRecipe(data=recipes.SpeechDataConfig(source="tfds:speech_commands",
                                                                tfds_data_dir=str(tmp_path)),
                                  features=recipes.FeaturesConfig(sample_rate=8000))
    builder = tfds.builder("speech_commands", data_dir=str(tmp_path))
    builder.info.set_splits(tfds.core.SplitDict([
        tfds.core.SplitInfo(name=name, shard_lengths=[6], num_bytes=0) for name in ("train", "validation", "test")]))
    os.makedirs(builder.data_dir, exist_ok=True)
    builder.info.write_to_directory(builder.data_dir)
    with tfds.testing.mock_data(num_examples=6, data_dir=str(tmp_path)):
        splits = data.read_splits(recipe)
    names = {"down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown"}
    assert len(splits.train) == 6 and len(splits.validation) == 6 and len(splits.test) == 6
    for part in (splits.train, splits.validation, splits.test):
        assert set(part.texts) <= names
        assert all(samples.dtype == np.float32 and np.abs(samples).max() <= 1 for samples in part.audio)
