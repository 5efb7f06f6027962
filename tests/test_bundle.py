"""Bundles: written atomically, loaded with their task check, nested models saved without compile state."""

import json

import keras
import numpy as np
import pytest

from rnnapps import bundle
from rnnapps.errors import UserError


def _save(directory, model):
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Recipe:
        task: str = "toy"

    return bundle.save(directory, task="toy", model=model, tokenizers_by_name={}, recipe=Recipe(),
                       metrics={"test": {"accuracy": 1.0}})


def _nested_compiled_model():
    inner_input = keras.Input((3,))
    inner = keras.Model(inner_input, keras.layers.Dense(2)(inner_input), name="inner")
    # A loss closure, as the tasks use: Keras cannot deserialize it, so it must not be saved.
    inner.compile(optimizer="adam", loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    outer_input = keras.Input((3,))
    return keras.Model(outer_input, keras.layers.Dense(1)(inner(outer_input)), name="outer"), inner


def test_a_nested_compiled_model_saves_and_loads(tmp_path):
    model, inner = _nested_compiled_model()
    x = np.ones((2, 3), "float32")
    path = _save(tmp_path / "bundle", model)
    assert inner.compiled  # saving leaves the trained model as it was
    loaded = bundle.load(path, "toy")
    np.testing.assert_allclose(loaded.model.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert loaded.metrics == {"test": {"accuracy": 1.0}}
    assert json.loads((path / bundle.METADATA_FILE).read_text())["task"] == "toy"


def test_a_bundle_of_another_task_is_refused(tmp_path):
    model, _ = _nested_compiled_model()
    path = _save(tmp_path / "bundle", model)
    with pytest.raises(UserError, match="is a 'toy' bundle, not a 'sentiment' bundle"):
        bundle.load(path, "sentiment")
    with pytest.raises(UserError, match="is not a bundle"):
        bundle.load(tmp_path / "bundle" / "tokenizers", "toy")


def test_a_truncated_model_file_is_named_as_unreadable(tmp_path):
    model, _ = _nested_compiled_model()
    path = _save(tmp_path / "bundle", model)
    weights = path / bundle.MODEL_FILE
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(UserError, match=r"model\.keras is unreadable: it is not a complete \.keras file "
                                        r"\(truncated or corrupt, 200 bytes\); rebuild the bundle with "
                                        r"'rnnapps toy train'"):
        bundle.load(path, "toy")
    weights.unlink()
    with pytest.raises(UserError, match=r"model\.keras is missing: the bundle is incomplete"):
        bundle.load(path, "toy")
